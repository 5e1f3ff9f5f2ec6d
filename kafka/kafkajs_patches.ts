import { createRequire } from "node:module";
import { createSendMessages } from "./kafkajs/send_messages.ts";
import {
  createRecordBatchDecoder,
  createRecordDecoder,
  createRecordEncoder,
  encodedSize,
  type KafkajsEncoder,
  writeRecords,
} from "./kafkajs/record_codec.ts";
import { createProduceRequest, type ProduceDeps } from "./kafkajs/produce_request.ts";
import { createBatch } from "./kafkajs/fetch_batch.ts";
import { isInt32, putUVarInt, uVarIntSize, zigzag32 } from "./kafkajs/varint.ts";

/**
 * Fixes to kafkajs 2.2.4's produce and fetch paths: one for correctness, four for speed (which a
 * CPU profile of the agent found dominating it once scoring got cheap). All write the same bytes
 * and groups, and decode the same records, as kafkajs; only the work differs, and a retry no
 * longer drops records.
 *
 * 1. A send retried after a leader change skipped the partitions that moved to a broker that had
 *    already answered, and resolved: records lost (kafka/kafkajs/send_messages.ts says how). The
 *    fixed send replaces src/producer/sendMessages.js in the module cache; it also groups a send's
 *    messages by partition in linear time, where kafkajs copies `[...current, message]` per
 *    message (O(n²), 8% of the agent's CPU at 4096-row batches; tulios/kafkajs#1576, unreleased).
 * 2. Each record batch's CRC-32C is computed a byte at a time; slicing by 8 bytes does the same
 *    in a third of the time. Replaced in the module cache like the send.
 * 3. Every varint is written through a temporary JS array and `Buffer.from(array)`, and every
 *    varlong through BigInt-backed Long arithmetic: about five of each per record, over a quarter
 *    of the agent's CPU. The Encoder class is shared, so its prototype is patched.
 * 4. Each record is encoded into a Buffer of its own and copied, and decoded from a Buffer and a
 *    Decoder of its own through Long arithmetic on strings: kafka/kafkajs/record_codec.ts writes
 *    records in place, reads them where they lie and adds safe integers as numbers. Its encoder
 *    and decoders replace record/v0's and recordBatch/v0's decoder in the module cache, and the
 *    Encoder prototype's writeEncoderArray writes its records. The consumer's Batch parses a
 *    Long from every record's offset string to drop those before the fetched offset:
 *    kafka/kafkajs/fetch_batch.ts compares numbers, and replaces consumer/batch.js.
 * 5. A produce request copies each record batch six times on its way into the request:
 *    kafka/kafkajs/produce_request.ts writes it once, into one encoder sized up front.
 *
 * kafkajs' modules keep what they required when they loaded, so these are installed before
 * kafkajs loads: kafka/boundary.ts imports this module before the kafkajs implementation.
 */
const require = createRequire(import.meta.url);
const KAFKAJS = "kafkajs/src/";

/** CRC-32C tables for slicing by 8: table k advances a byte through k more zero bytes. */
const CRC_TABLES = (() => {
  const t = new Int32Array(8 * 256);
  for (let i = 0; i < 256; i++) {
    let c = i;
    for (let k = 0; k < 8; k++) c = c & 1 ? (c >>> 1) ^ 0x82f63b78 : c >>> 1;
    t[i] = c;
  }
  for (let i = 0; i < 256; i++) {
    for (let k = 1; k < 8; k++) {
      const prev = t[(k - 1) * 256 + i];
      t[k * 256 + i] = (prev >>> 8) ^ t[prev & 0xff];
    }
  }
  return t;
})();

/** CRC-32C (Castagnoli) of the bytes, as an unsigned 32-bit number, like kafkajs' crc32C. */
export function crc32c(bytes: Uint8Array): number {
  const t = CRC_TABLES;
  let crc = -1;
  let i = 0;
  for (const whole = bytes.length - (bytes.length & 7); i < whole; i += 8) {
    const low = crc ^
      (bytes[i] | (bytes[i + 1] << 8) | (bytes[i + 2] << 16) | (bytes[i + 3] << 24));
    crc = t[1792 + (low & 0xff)] ^ t[1536 + ((low >>> 8) & 0xff)] ^
      t[1280 + ((low >>> 16) & 0xff)] ^ t[1024 + (low >>> 24)] ^ t[768 + bytes[i + 4]] ^
      t[512 + bytes[i + 5]] ^ t[256 + bytes[i + 6]] ^ t[bytes[i + 7]];
  }
  for (; i < bytes.length; i++) crc = t[(crc ^ bytes[i]) & 0xff] ^ (crc >>> 8);
  return (crc ^ -1) >>> 0;
}

interface VarIntEncoder extends KafkajsEncoder {
  writeUVarInt(value: number): VarIntEncoder;
  writeVarLong(value: unknown): VarIntEncoder;
}

interface KafkajsEncoderClass {
  prototype: VarIntEncoder;
  sizeOfVarLong(value: unknown): number;
}

/** Unsigned LEB128 straight into the encoder's buffer (at most 5 bytes for 32 bits). */
function writeUVarInt(this: VarIntEncoder, value: number): VarIntEncoder {
  this.ensureAvailable(5);
  this.offset = putUVarInt(this.buf, this.offset, value);
  return this;
}

function patchEncoder(Encoder: KafkajsEncoderClass): void {
  const writeVarLong = Encoder.prototype.writeVarLong;
  const sizeOfVarLong = Encoder.sizeOfVarLong.bind(Encoder);
  Encoder.prototype.writeUVarInt = writeUVarInt;
  Encoder.prototype.writeVarLong = function (this: VarIntEncoder, value: unknown) {
    if (!isInt32(value)) return writeVarLong.call(this, value);
    return this.writeUVarInt(zigzag32(value));
  };
  Encoder.sizeOfVarLong = (value: unknown) =>
    isInt32(value) ? uVarIntSize(zigzag32(value)) : sizeOfVarLong(value);
}

function install(): boolean {
  try {
    // The modules that keep the replaced functions from the moment they load.
    const capturing = [
      "producer/messageProducer.js",
      "protocol/recordBatch/v0/index.js",
      "protocol/recordBatch/v0/decoder.js",
      "protocol/requests/fetch/v4/decodeMessages.js",
      "consumer/consumerGroup.js",
      ...[3, 4, 5, 6, 7].map((v) => `protocol/requests/produce/v${v}/request.js`),
    ];
    if (capturing.some((file) => require.cache[require.resolve(KAFKAJS + file)])) return false;
    const Encoder = require(`${KAFKAJS}protocol/encoder.js`);
    patchEncoder(Encoder);
    Encoder.prototype.writeEncoderArray = writeRecords;
    const replacements: [string, (shipped: never) => unknown][] = [
      ["producer/sendMessages.js", () => createSendMessages],
      ["protocol/recordBatch/crc32C/index.js", () => crc32c],
      ["protocol/recordBatch/record/v0/index.js", createRecordEncoder],
      ["protocol/recordBatch/record/v0/decoder.js", createRecordDecoder],
      // After the record decoder: kafkajs' batch decoder, kept for compressed batches, loads it.
      [
        "protocol/recordBatch/v0/decoder.js",
        (shipped: never) =>
          createRecordBatchDecoder({
            shipped,
            Decoder: require(`${KAFKAJS}protocol/decoder.js`),
            record: require(`${KAFKAJS}protocol/recordBatch/record/v0/decoder.js`),
          }),
      ],
      [
        "consumer/batch.js",
        (shipped: never) =>
          createBatch(shipped, require(`${KAFKAJS}consumer/filterAbortedMessages.js`)),
      ],
    ];
    for (const [file, replace] of replacements) {
      const path = require.resolve(KAFKAJS + file);
      const shipped = require(path);
      require.cache[path]!.exports = replace(shipped as never);
    }
    // After the record encoder: the request makes its records with the replaced one.
    const produce = require.resolve(`${KAFKAJS}protocol/requests/produce/v3/request.js`);
    const deps: ProduceDeps = {
      shipped: require(produce),
      Encoder,
      longFromInt: require(`${KAFKAJS}utils/long.js`).fromInt,
      record: require(`${KAFKAJS}protocol/recordBatch/record/v0/index.js`),
      recordSize: encodedSize,
      crc32c,
      magicByte: require(`${KAFKAJS}protocol/recordBatch/v0/index.js`).MAGIC_BYTE,
    };
    require.cache[produce]!.exports = createProduceRequest(deps);
    return true;
  } catch {
    // kafkajs' files are not reachable by path (a bundle that inlined them): it runs as shipped.
    return false;
  }
}

/** False when kafkajs runs as shipped: it loaded before this module, or its files are bundled. */
export const kafkajsPatchesInstalled: boolean = install();
