/**
 * Environment that turns every rate limit off and lifts the socket caps:
 * for servers whose tests (and benchmarks) are about something else and make
 * many users, sockets and sends from one address. The limits' own tests set
 * theirs (test/integration/rate-limits.test.ts).
 */
export const LIMITS_OFF: Record<string, string> = {
  RL_LOGIN_ACCOUNT: 'off',
  RL_LOGIN_IP: 'off',
  RL_REGISTER_IP: 'off',
  RL_REFRESH_SESSION: 'off',
  RL_SEND_BURST: 'off',
  RL_SEND_SUSTAINED: 'off',
  RL_FRIEND_REQUEST: 'off',
  RL_GROUP_CREATE: 'off',
  RL_MARK_READ: 'off',
  RL_TYPING: 'off',
  WS_MAX_SOCKETS_PER_USER: '100000',
  WS_MAX_SOCKETS_PER_DEVICE: '100000',
  WS_MAX_SOCKETS_PER_IP: '1000000',
};
