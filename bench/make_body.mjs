// A chat completion request body of about SIZE bytes on stdout:
//   node bench/make_body.mjs SIZE [stream]
// A system prompt and alternating user/assistant turns of plain English
// (with a few escapes and non-ASCII characters, as real prompts have).

const size = parseInt(process.argv[2] || '1024', 10);
const stream = process.argv[3] === 'stream' || process.argv[3] === '1';

const words = ('the gateway streams tokens to the client while a budget is ' +
    'reserved and reconciled at the end of each request; nginx workers ' +
    'share state through memory zones, so a reload keeps every counter. ' +
    'Please summarize this document in three sentences and list any risks ' +
    'you see with the approach. café naïve 42€ "quoted" line\nbreak').split(' ');

const body = {
    model: 'gpt-4o-mini',
    temperature: 0.7,
    max_tokens: 512,
    messages: [{ role: 'system', content: 'You are a helpful assistant.' }],
};

if (stream) {
    body.stream = true;
    body.stream_options = { include_usage: true };
}

const roles = ['user', 'assistant'];
let seed = 1, turn = 0;

function len() { return Buffer.byteLength(JSON.stringify(body)); }

while (len() < size) {
    const msg = { role: roles[turn++ % 2], content: '' };
    body.messages.push(msg);
    for (let n = 0; n < 200 && len() < size; n++) {
        seed = (seed * 1103515245 + 12345) % 2147483648;
        msg.content += (msg.content ? ' ' : '') + words[(seed >> 8) % words.length];
    }
}

if (body.messages[body.messages.length - 1].role !== 'user') {
    body.messages[body.messages.length - 1].role = 'user';
}

process.stdout.write(JSON.stringify(body));
