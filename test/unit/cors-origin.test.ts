import assert from 'node:assert/strict';
import { test } from 'node:test';
import { originAllowed } from '../../src/server/cors';

// Fetch Standard §3.2 (the Origin header) and RFC 6455 §10.2 (a browser's upgrade carries Origin;
// the server decides which origins it serves): a missing Origin is not a browser cross-origin call.
test('originAllowed: a list admits exactly its origins; a missing Origin and the server\'s own origin always pass', () => {
  const list = { allow: 'list' as const, origins: ['https://chat.example.com'] };
  assert.equal(originAllowed(list, 'https://chat.example.com'), true);
  assert.equal(originAllowed(list, 'https://chat.example.com:8443'), false, 'another port is another origin');
  assert.equal(originAllowed(list, 'http://chat.example.com'), false, 'another scheme is another origin');
  assert.equal(originAllowed(list, 'https://evil.example.com'), false);
  assert.equal(originAllowed(list, 'null'), false, 'a sandboxed frame or a file:// page');
  assert.equal(originAllowed(list, undefined), true, 'no Origin: not a browser');
  assert.equal(originAllowed(list, 'https://api.example.com', 'api.example.com'), true, 'same origin as the Host');
  assert.equal(originAllowed({ allow: 'list', origins: [] }, 'https://chat.example.com'), false, 'production default: none');
});

test('originAllowed: the development default admits localhost, 127.0.0.1 and [::1] on any port, nothing else', () => {
  const local = { allow: 'localhost' as const, origins: [] };
  for (const o of ['http://localhost:3000', 'https://localhost', 'http://127.0.0.1:5173', 'http://[::1]:8080']) assert.equal(originAllowed(local, o), true, o);
  for (const o of ['https://evil.example.com', 'http://localhost.evil.example', 'http://127.0.0.2', 'file://localhost']) assert.equal(originAllowed(local, o), false, o);
  assert.equal(originAllowed({ allow: 'any', origins: [] }, 'https://evil.example.com'), true, 'CORS_ORIGINS=*');
});
