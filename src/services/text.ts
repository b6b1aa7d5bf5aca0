// The one rule for every text a client sends (message content and ext,
// clientMsgId, accounts, passwords, names, group names, remarks, avatars,
// emails, search strings, device ids): a text is either refused with
// BAD_USER_INPUT or stored exactly as given, so every later read (the
// receipt, a push, history, sync, the message cache) returns the same string.
// The server never trims, normalizes or truncates what it stores.
//
// MariaDB cannot store some JavaScript strings as they are: a lone UTF-16
// surrogate has no UTF-8 form and comes back as "?" or U+FFFD, and a VARCHAR(n)
// counts Unicode code points, not UTF-16 units (an emoji is one there and two
// in String.length). So lengths here are code points, and lone surrogates are
// refused; control characters (NUL included) are refused too, except tabs and
// line breaks in multi-line text. Every text column is utf8mb4, which holds
// every other code point, 4-byte emoji included.

import { badInput } from '../errors';

/** How one field's text is checked. Lengths count Unicode code points, as MariaDB's utf8mb4 VARCHAR does. */
export interface TextRule {
  /** The field as the client names it, for messages. */
  readonly field: string;
  /** Fewest code points (0 when omitted). */
  readonly min?: number;
  /** Most code points: the column's length, or the field's own limit below it. */
  readonly max: number;
  /** Refuse text made only of whitespace and invisible characters. */
  readonly notBlank?: boolean;
  /** Tabs and line breaks allowed (multi-line text). */
  readonly multiline?: boolean;
  /** A pattern the whole text must match, and what to say when it does not. */
  readonly pattern?: { readonly re: RegExp; readonly says: string };
  /** Messages for a length outside min..max; by default "<field> must be <min> to <max> characters". */
  readonly tooShort?: string;
  readonly tooLong?: string;
}

const DEVICE_ID = /^[A-Za-z0-9._:-]+$/;

/** Every text field of the API, with the limits of the column it is stored in (src/db/migrations). */
export const TEXT = {
  content: { field: 'content', min: 1, max: 4096, notBlank: true, multiline: true },
  ext: { field: 'ext', max: 1024, multiline: true },
  clientMsgId: { field: 'clientMsgId', min: 1, max: 64, pattern: { re: /^[\x21-\x7e]+$/, says: 'clientMsgId must be printable ASCII without spaces' } },
  account: {
    field: 'account',
    min: 3,
    max: 64,
    pattern: { re: /^[\p{L}\p{N}._-]+$/u, says: 'account may hold letters, digits, ".", "_" and "-" only' },
  },
  /** At login any stored account may be typed; the register rule made them all. */
  loginAccount: { field: 'account', min: 1, max: 64 },
  password: { field: 'password', min: 8, max: 256, tooShort: 'password must be at least 8 characters', tooLong: 'password must be at most 256 characters' },
  loginPassword: { field: 'password', max: 256, tooLong: 'password must be at most 256 characters' },
  name: { field: 'name', min: 1, max: 64, notBlank: true },
  groupName: { field: 'name', min: 1, max: 64, notBlank: true },
  avatar: { field: 'avatar', max: 1024, tooLong: 'avatar must be at most 1024 characters' },
  email: { field: 'email', max: 254 },
  /** notification.remark */
  requestRemark: { field: 'remark', min: 1, max: 255, notBlank: true, tooLong: 'remark must be at most 255 characters' },
  /** friend_setting.remark */
  friendRemark: { field: 'remark', min: 1, max: 64, notBlank: true, tooLong: 'remark must be at most 64 characters' },
  search: { field: 'search', max: 64 },
  role: { field: 'role', min: 1, max: 64 },
  deviceId: {
    field: 'deviceId',
    min: 1,
    max: 64,
    pattern: { re: DEVICE_ID, says: 'deviceId must be 1 to 64 characters of letters, digits, ".", "_", ":" or "-"' },
    tooLong: 'deviceId must be 1 to 64 characters of letters, digits, ".", "_", ":" or "-"',
  },
} as const satisfies Record<string, TextRule>;

// In a /u regex a surrogate pair is one code point, so \p{Cs} matches only lone halves.
const LONE_SURROGATE = /\p{Cs}/u;
// C0 controls, DEL and C1 controls; multi-line text keeps \t, \n and \r.
const CONTROL = /\p{Cc}/u;
const CONTROL_EXCEPT_LINES = /[^\P{Cc}\t\n\r]/u;
// Whitespace and characters that render as nothing (zero-width spaces and joiners, BOM, variation selectors).
const BLANK = /^[\s\p{Default_Ignorable_Code_Point}]*$/u;

/** Unicode code points in s, as MariaDB counts the characters of a utf8mb4 column (a surrogate pair is one). */
export function charLength(s: string): number {
  let n = s.length;
  for (let i = 0; i < s.length - 1; i++) {
    const c = s.charCodeAt(i);
    if (c >= 0xd800 && c <= 0xdbff) {
      const d = s.charCodeAt(i + 1);
      if (d >= 0xdc00 && d <= 0xdfff) {
        n--;
        i++;
      }
    }
  }
  return n;
}

/** What is wrong with `value` under `rule`, or null when it may be stored as it is. */
export function textProblem(value: string, rule: TextRule): string | null {
  if (typeof value !== 'string') return `${rule.field} must be text`;
  if (LONE_SURROGATE.test(value)) return `${rule.field} holds an unpaired UTF-16 surrogate, which cannot be stored`;
  if ((rule.multiline ? CONTROL_EXCEPT_LINES : CONTROL).test(value)) {
    return `${rule.field} holds a control character${rule.multiline ? ' (only tabs and line breaks are allowed)' : ''}`;
  }
  const n = charLength(value);
  const min = rule.min ?? 0;
  if (n < min) return rule.tooShort ?? (min === 1 ? `${rule.field} cannot be empty` : range(rule));
  if (n > rule.max) return rule.tooLong ?? range(rule);
  if (rule.notBlank && BLANK.test(value)) return `${rule.field} cannot be blank (only whitespace)`;
  if (rule.pattern && !rule.pattern.re.test(value)) return rule.pattern.says;
  return null;
}

const range = (rule: TextRule) => (rule.min ? `${rule.field} must be ${rule.min} to ${rule.max} characters` : `${rule.field} must be at most ${rule.max} characters`);

/** Returns `value` unchanged, or throws BAD_USER_INPUT saying what is wrong with it. */
export function checkText(value: string, rule: TextRule): string {
  const problem = textProblem(value, rule);
  if (problem) throw badInput(problem, { field: rule.field });
  return value;
}

/** checkText for an optional field: null and undefined pass through. */
export function checkOptionalText<T extends string | null | undefined>(value: T, rule: TextRule): T {
  if (value != null) checkText(value, rule);
  return value;
}

/**
 * The unique key of an account: NFC, then lower case. Two accounts are the
 * same account exactly when their keys are equal; the column compares keys
 * byte for byte (utf8mb4_nopad_bin), so MariaDB's collation adds no equality
 * of its own ('bob' vs 'böb', trailing spaces, emoji). Lower-casing can
 * lengthen a key ('İ' becomes two code points), hence the wider column.
 */
export function accountKey(account: string): string {
  return account.normalize('NFC').toLowerCase();
}
