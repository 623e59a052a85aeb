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
} = pkg;
export default pkg;
