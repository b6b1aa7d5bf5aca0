import type { IncomingMessage } from 'node:http';
import proxyaddr from 'proxy-addr';

/**
 * The client's address of a request (HTTP, or a WebSocket upgrade): the
 * socket's peer, or with `TRUST_PROXY` the address X-Forwarded-For gives
 * through the trusted proxies, as Express's `trust proxy` reads it (false:
 * the header is ignored; true: its left-most address; n: n hops; a list:
 * addresses/subnets or "loopback", "linklocal", "uniquelocal").
 */
export function clientIp(trust: boolean | number | string[]): (req: IncomingMessage) => string {
  const fn: (addr: string, i: number) => boolean =
    typeof trust === 'boolean' ? () => trust : typeof trust === 'number' ? (_a, i) => i < trust : proxyaddr.compile(trust);
  return (req) => {
    try {
      return proxyaddr(req, fn);
    } catch {
      return req.socket.remoteAddress ?? 'unknown';
    }
  };
}
