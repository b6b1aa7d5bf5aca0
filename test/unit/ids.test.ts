import assert from 'node:assert/strict';
import { test } from 'node:test';
import { AppError } from '../../src/errors';
import { parseCursorId, parseId, parseIds } from '../../src/schema/ids';

/** The BAD_USER_INPUT message parseId refuses `value` with. */
function refusal(value: string): string {
  try {
    parseId(value, 'id');
  } catch (e) {
    assert.ok(e instanceof AppError, `expected an AppError, got ${String(e)}`);
    assert.equal(e.code, 'BAD_USER_INPUT');
    return e.message;
  }
  assert.fail(`${JSON.stringify(value)} should be refused`);
}

// Ids are the tables' signed BIGINT (SQLite INTEGER alike): 1 to 2^63-1.
test('parseId: 1 to 2^63-1 are ids, given back as they came', () => {
  for (const id of ['1', '42', '9223372036854775806', '9223372036854775807']) assert.equal(parseId(id, 'id'), id);
});

test('parseId: 2^63 and above are "out of the id range", beyond 2^64 and 20 digits too', () => {
  for (const id of ['9223372036854775808', '10000000000000000000', '18446744073709551615', '18446744073709551616', '99999999999999999999', '1'.repeat(40)]) {
    assert.equal(refusal(id), 'id is out of the id range', id);
  }
});

test('parseId: anything but a decimal without a leading zero is "must be a numeric id"', () => {
  for (const id of ['', '0', '007', '-1', '+1', '1e3', ' 2', '2 ', '0x2', 'abc', '1.0', '١٢', '0'.repeat(25)]) {
    assert.equal(refusal(id), 'id must be a numeric id', JSON.stringify(id));
  }
});

test('parseIds drops repeats and refuses the list for one bad id; parseCursorId also takes "0"', () => {
  assert.deepEqual(parseIds(['3', '1', '3'], 'ids'), ['3', '1']);
  assert.throws(() => parseIds(['1', '9223372036854775808'], 'ids'), /ids is out of the id range/);
  assert.equal(parseCursorId('0', 'upTo'), '0');
  assert.equal(parseCursorId('9223372036854775807', 'upTo'), '9223372036854775807');
  assert.throws(() => parseCursorId('9223372036854775808', 'upTo'), /upTo is out of the id range/);
});
