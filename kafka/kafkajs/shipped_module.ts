import { createRequire } from "node:module";

const require = createRequire(import.meta.url);

/**
 * A kafkajs module as shipped (`file` under kafkajs/src/), loaded apart from the module cache entry
 * the patches replaced: what the tests compare each replacement with.
 */
export function shippedKafkajs(file: string) {
  const path = require.resolve(`kafkajs/src/${file}`);
  const patched = require.cache[path];
  delete require.cache[path];
  try {
    return require(path);
  } finally {
    require.cache[path] = patched;
  }
}
