/** Options every call takes. */
export interface KeydOptions {
  /** The daemon's socket; default: socketPath(env). */
  socket?: string;
  /** Give up after this many milliseconds (connect and reply); 0 for never. Default 2000. */
  timeoutMs?: number;
  /** The environment for the socket path rules and the fallback values; default process.env. */
  env?: Record<string, string | undefined>;
}

export interface InterpolateOptions extends KeydOptions {
  /** Where warnings go (a conflict, a locked or silent daemon); default console.error. */
  warn?: (message: string) => void;
  /** Reject/throw a KeydError instead of falling back to the environment alone. */
  strict?: boolean;
}

export interface Key {
  name: string;
  env: string;
  value: string;
  updated: string;
}

/**
 * 'unreachable' | 'untrusted' (the daemon is not our user's; nothing but at most a hello
 * was sent) | 'timeout' | 'protocol' | 'io_error' | a daemon code ('not_found', 'locked', …).
 */
export type KeydErrorCode =
  | 'unreachable' | 'untrusted' | 'timeout' | 'protocol'
  | 'bad_request' | 'unknown_op' | 'invalid_name' | 'invalid_value' | 'not_found'
  | 'conflict' | 'too_large' | 'locked' | 'denied' | 'busy' | 'io_error'
  | (string & {});

export class KeydError extends Error {
  name: 'KeydError';
  code: KeydErrorCode;
  /** The socket path that was tried. */
  socket?: string;
  /** The system error code behind it (ENOENT, ECONNREFUSED, …), when there was one. */
  errno?: string;
}

export const DEFAULT_TIMEOUT_MS: number;
/** Env names never taken from the keystore (common/names.c); 'LD_*' covers every LD_ name. */
export const REFUSED_ENV: readonly string[];
/** True when name is on REFUSED_ENV. */
export function isRefusedEnv(name: string): boolean;
/** True when name is an env name the keystore could hold: valid, not too long, not refused. */
export function storable(name: string): boolean;
/** The form of a name the keystore can hold as an env name: [A-Z_][A-Z0-9_]*. */
export const ENV_NAME: RegExp;
/** The longest env name the daemon accepts (common/names.h). */
export const ENV_MAX_LEN: number;
/** The router's reference pattern, $NAME or ${NAME}, as RegExp source (make a new RegExp with 'g'). */
export const REF_SOURCE: string;

/** The key called name, or null when the keystore has none. */
export function getKey(name: string, opts?: KeydOptions): Promise<Key | null>;
/** {ENV: value} for those of envNames the keystore holds. */
export function resolve(envNames: string | string[], opts?: KeydOptions): Promise<Record<string, string>>;
/** resolve, blocking the thread (a worker does the I/O). */
export function resolveSync(envNames: string | string[], opts?: KeydOptions): Record<string, string>;
/** claude-code-router's interpolateEnvVars, keystore first, environment second. */
export function interpolateEnvVars<T = unknown>(value: T, opts?: InterpolateOptions): Promise<T>;
/** The same, synchronous like the router's own. */
export function interpolateEnvVarsSync<T = unknown>(value: T, opts?: InterpolateOptions): T;
/** Every name a value references as $NAME or ${NAME}, in order of first use. */
export function referencedNames(value: unknown): string[];
/** The daemon's socket path by the C client's rules. */
export function socketPath(env?: Record<string, string | undefined>): string;
/** The router's home directory ($CCR_HOME, else ~/.claude-code-router). */
export function homeDir(env?: Record<string, string | undefined>): string;

declare const _default: {
  getKey: typeof getKey;
  resolve: typeof resolve;
  resolveSync: typeof resolveSync;
  interpolateEnvVars: typeof interpolateEnvVars;
  interpolateEnvVarsSync: typeof interpolateEnvVarsSync;
  referencedNames: typeof referencedNames;
  socketPath: typeof socketPath;
  homeDir: typeof homeDir;
  KeydError: typeof KeydError;
  DEFAULT_TIMEOUT_MS: number;
  REFUSED_ENV: readonly string[];
  isRefusedEnv: typeof isRefusedEnv;
  storable: typeof storable;
  ENV_NAME: RegExp;
  ENV_MAX_LEN: number;
  REF_SOURCE: string;
};
export default _default;
