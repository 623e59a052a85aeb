// ES module entry: the implementation lives in index.cjs, once.
import pkg from './index.cjs';

export const {
	getKey,
	resolve,
	interpolateEnvVars,
	interpolateEnvVarsSync,
	resolveSync,
	referencedNames,
	socketPath,
	homeDir,
	KeydError,
	DEFAULT_TIMEOUT_MS,
	REFUSED_ENV,
	isRefusedEnv,
	storable,
	ENV_NAME,
	ENV_MAX_LEN,
	REF_SOURCE,
} = pkg;
export default pkg;
