// ES module entry: the implementation lives in index.cjs, once, and so does the
// list of what it exports (Node reads the names from index.cjs's module.exports).
export * from './index.cjs';
export { default } from './index.cjs';
