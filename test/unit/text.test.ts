import assert from 'node:assert/strict';
import { test } from 'node:test';
import { repeatMismatch } from '../../src/services/message-batch';
import { accountKey, charLength, checkText, TEXT, type TextRule, textProblem } from '../../src/services/text';

const ok = (value: string, rule: TextRule) => assert.equal(textProblem(value, rule), null, JSON.stringify(value));
const bad = (value: string, rule: TextRule, says: RegExp) => {
  const p = textProblem(value, rule);
  assert.ok(p, `${JSON.stringify(value)} should be refused`);
  assert.match(p, says);
};

test('charLength counts code points as MariaDB counts utf8mb4 characters: a surrogate pair is one', () => {
  assert.equal(charLength(''), 0);
  assert.equal(charLength('abc'), 3);
  assert.equal(charLength('😀'), 1);
  assert.equal(charLength('❤️'), 2, 'heart + variation selector are two code points (and two characters to MariaDB)');
  assert.equal(charLength('e\u0301'), 2);
  assert.equal(charLength('😀'.repeat(4096)), 4096);
  assert.equal(charLength('\u{10FFFF}x'), 2);
});

test('lone UTF-16 surrogates are refused in every field, paired ones are fine', () => {
  for (const rule of Object.values(TEXT)) {
    for (const lone of ['x\uD800y', 'x\uDC00y', '\uD83D', 'ab\uDE00', '\uDE00\uD83D']) bad(lone, rule, /surrogate/);
  }
  ok('x😀y', TEXT.content);
  ok('😀', TEXT.name);
});

test('control characters are refused; multi-line text keeps tabs and line breaks', () => {
  for (const c of ['\u0000', '\u0001', '\u0007', '\u001b', '\u007f', '\u0085', '\u009f']) {
    bad(`a${c}b`, TEXT.content, /control character/);
    bad(`a${c}b`, TEXT.name, /control character/);
    bad(`a${c}b`, TEXT.search, /control character/);
  }
  ok('line one\nline two\r\n\tend', TEXT.content);
  ok('{"a":\n\t1}', TEXT.ext);
  for (const c of ['\n', '\r', '\t']) bad(`a${c}b`, TEXT.name, /control character/);
});

test('blank content and names are refused: whitespace and invisible characters only', () => {
  for (const blank of [' ', '   ', '\n\t ', '\u00a0', '\u3000', '\u200b', '\u200d', '\ufeff', '\u2028', ' \u200b ']) {
    bad(blank, TEXT.content, /blank/);
    bad(blank.replace(/[\n\t\u2028]/g, ' '), TEXT.name, /blank/);
    bad(blank.replace(/[\n\t\u2028]/g, ' '), TEXT.groupName, /blank/);
  }
  bad('', TEXT.content, /cannot be empty/);
  bad('', TEXT.name, /cannot be empty/);
  // Text around whitespace is kept as it is, never trimmed.
  ok('  hi  ', TEXT.content);
  ok(' Zoë K ', TEXT.name);
  ok('👨‍👩‍👧', TEXT.content);
  // ext and the search may be empty or spaces.
  ok('', TEXT.ext);
  ok(' ', TEXT.search);
});

test('length limits count code points, so a string of emoji is neither refused early nor too long for the column', () => {
  ok('😀'.repeat(4096), TEXT.content);
  bad('😀'.repeat(4097), TEXT.content, /content must be 1 to 4096 characters/);
  ok('😀'.repeat(1024), TEXT.ext);
  bad('😀'.repeat(1025), TEXT.ext, /ext must be at most 1024 characters/);
  ok('😀'.repeat(64), TEXT.name);
  // 64 hearts are 128 code points: too long for VARCHAR(64) (class-validator counted them as 64).
  bad('❤️'.repeat(64), TEXT.name, /name must be 1 to 64 characters/);
  ok('❤️'.repeat(32), TEXT.name);
  bad('😀'.repeat(65), TEXT.groupName, /1 to 64/);
  ok('😀'.repeat(255), TEXT.requestRemark);
  bad('😀'.repeat(256), TEXT.requestRemark, /at most 255/);
  bad('x'.repeat(65), TEXT.friendRemark, /at most 64/);
  bad('x'.repeat(65), TEXT.search, /at most 64/);
});

test('the register rules keep their messages: account range and pattern, password bounds', () => {
  bad('ab', TEXT.account, /^account must be 3 to 64 characters$/);
  bad('a'.repeat(65), TEXT.account, /^account must be 3 to 64 characters$/);
  bad('has space', TEXT.account, /letters, digits/);
  bad('bob ', TEXT.account, /letters, digits/);
  ok('Zoë_99', TEXT.account);
  bad('x'.repeat(7), TEXT.password, /^password must be at least 8 characters$/);
  bad('x'.repeat(257), TEXT.password, /^password must be at most 256 characters$/);
  ok('correct horse battery', TEXT.password);
  bad('my phone', TEXT.deviceId, /deviceId must be/);
  bad('d'.repeat(65), TEXT.deviceId, /deviceId must be/);
  ok('Phone-1:a.b_c', TEXT.deviceId);
  bad('has space', TEXT.clientMsgId, /printable ASCII/);
  bad('é', TEXT.clientMsgId, /printable ASCII/);
  bad('x'.repeat(65), TEXT.clientMsgId, /1 to 64/);
  ok('Ab-1_~', TEXT.clientMsgId);
});

test('checkText returns the value itself or throws BAD_USER_INPUT naming the field', () => {
  const v = ' keep me ';
  assert.equal(checkText(v, TEXT.content), v);
  assert.throws(() => checkText('a\u0000', TEXT.content), (e: { code?: string; message?: string; details?: { field?: string } }) => {
    assert.equal(e.code, 'BAD_USER_INPUT');
    assert.equal(e.details?.field, 'content');
    return true;
  });
});

test('accountKey: one key per account, equal exactly for case variants and NFC/NFD forms', () => {
  assert.equal(accountKey('Bob'), accountKey('BOB'));
  assert.notEqual(accountKey('bob'), accountKey('böb'));
  assert.equal(accountKey('Zo\u00eb'), accountKey('Zoe\u0308'));
  assert.equal(accountKey('\u212bngstrom'), accountKey('\u00c5ngstrom'));
  // Lower case can lengthen a key; the column holds 128 (twice the 64 of an account).
  assert.ok(charLength(accountKey('İ'.repeat(64))) <= 128);
});

test('repeatMismatch: a true repeat matches; every other field of a different message is named', () => {
  const stored = { sender_id: '1', receiver_id: '2', group_id: null, type: 1, content: 'hi', ext: null };
  const send = { senderId: '1', to: { userId: '2' }, clientMsgId: 'k', type: 1, content: 'hi' };
  assert.deepEqual(repeatMismatch(stored, send), []);
  assert.deepEqual(repeatMismatch(stored, { ...send, ext: null }), [], 'ext null and omitted are the same');
  assert.deepEqual(repeatMismatch(stored, { ...send, to: { userId: '3' } }), ['conversation']);
  assert.deepEqual(repeatMismatch(stored, { ...send, to: { groupId: '2' } }), ['conversation']);
  assert.deepEqual(repeatMismatch(stored, { ...send, content: 'hi ' }), ['content'], 'texts compare exactly');
  assert.deepEqual(repeatMismatch(stored, { ...send, type: 2 }), ['type']);
  assert.deepEqual(repeatMismatch(stored, { ...send, ext: '' }), ['ext']);
  assert.deepEqual(repeatMismatch(stored, { ...send, senderId: '9' }), ['sender']);
  assert.deepEqual(repeatMismatch({ ...stored, receiver_id: null, group_id: '7' }, { ...send, to: { groupId: '7' }, content: 'x' }), ['content']);
});
