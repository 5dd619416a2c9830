// Preloaded into the peer gateway (node --import): every server it opens
// listens on 127.0.0.1 only.  Portkey's start-server.js passes a port and
// no host, which would listen on all interfaces; the benchmark is
// loopback only.
import net from 'node:net';

const listen = net.Server.prototype.listen;
net.Server.prototype.listen = function (...args) {
    const a = args[0];
    if (a !== null && typeof a === 'object' && !Array.isArray(a)) {
        if (a.path === undefined) args[0] = { ...a, host: '127.0.0.1' };
    } else if (typeof a === 'number' || (typeof a === 'string' && /^\d+$/.test(a))) {
        if (args[1] === undefined || args[1] === null) args[1] = '127.0.0.1';
        else if (typeof args[1] !== 'string') args.splice(1, 0, '127.0.0.1');
    }
    return listen.apply(this, args);
};
