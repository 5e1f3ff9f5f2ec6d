import { Buffer } from "node:buffer";
import type { ByteRange } from "../boundary/records.ts";
import { isInt32, putUVarInt, uVarIntSize, zigzag32 } from "./varint.ts";

/**
 * kafkajs 2.2.4's record (protocol/recordBatch/record/v0) encoder and decoder, and its record
 * batch decoder (recordBatch/v0/decoder.js), for the records the agent sends and reads, installed
 * by kafka/kafkajs_patches.ts. The bytes and decoded fields are kafkajs' own; the work per record
 * is not:
 *
 * - kafkajs encodes each record into an Encoder of its own (a zero-filled 512-byte Buffer), which
 *   the record batch then copies out through a sliced Buffer: two Buffers, a copy and 512 bytes of
 *   garbage per record, a fifth of the agent's CPU with the collector. Here a record is a small
 *   object that the batch writes in place, all of a batch's records into one reserved range.
 * - kafkajs decodes each record's timestamp and offset through Long (parsing the batch's first
 *   timestamp and offset from decimal strings, per record) and folds its headers with a spread per
 *   header, each from a Buffer and a Decoder sliced for it alone. Here safe integers are added as
 *   numbers, an empty header list is one object, and an uncompressed batch's records are read
 *   where they lie.
 *
 * Anything else (headers, deltas past 32 bits, timestamps past 2^53, compressed batches) goes
 * through kafkajs' own code.
 */

/** kafkajs' protocol Encoder, as far as these functions use it. */
export interface KafkajsEncoder {
  buf: Buffer;
  offset: number;
  readonly buffer: Buffer;
  ensureAvailable(length: number): void;
  writeBufferInternal(buffer: Buffer): void;
}

/** kafkajs' protocol Decoder, as far as these functions use it. */
export interface KafkajsDecoder {
  buffer: Buffer;
  offset: number;
  readInt8(): number;
  readVarInt(): number;
  readVarLong(): unknown;
  readVarIntBytes(): Buffer | null;
}

/** What kafkajs' produce request hands its Record encoder, per message. */
export interface RecordFields {
  offsetDelta?: number;
  timestampDelta?: number;
  key?: Buffer | string | null;
  value: Buffer | string | null;
  headers?: Record<string, unknown>;
}

/** An encoded record: kafkajs' Encoder, or this module's RecordBytes. */
export type RecordEncoding = RecordBytes | KafkajsEncoder;

/**
 * A record with Buffer (or null) key and value (strings made Buffers), no headers and 32-bit deltas, not yet written:
 * `writeRecords` puts its bytes into the batch's encoder directly.
 */
export class RecordBytes {
  readonly key: Buffer | null;
  readonly value: Buffer | null;
  readonly offsetDelta: number;
  readonly timestampDelta: number;
  /** Length of the record after its length varint. */
  readonly bodySize: number;
  /** Bytes the record takes in the batch, its length varint included. */
  readonly size: number;

  constructor(
    key: Buffer | null,
    value: Buffer | null,
    offsetDelta: number,
    timestampDelta: number,
  ) {
    this.key = key;
    this.value = value;
    this.offsetDelta = offsetDelta;
    this.timestampDelta = timestampDelta;
    // Attributes (1 byte) and the empty header list (varint 0, 1 byte).
    this.bodySize = 2 + varIntSize(timestampDelta) + varIntSize(offsetDelta) + bytesSize(key) +
      bytesSize(value);
    this.size = varIntSize(this.bodySize) + this.bodySize;
  }

  /** Writes the record at buf[at..at + size); returns at + size. */
  writeAt(buf: Uint8Array, at: number): number {
    at = putVarInt(buf, at, this.bodySize);
    buf[at++] = 0;
    // A varlong whose zigzag form fits 32 bits has a varint's bytes.
    at = putVarInt(buf, at, this.timestampDelta);
    at = putVarInt(buf, at, this.offsetDelta);
    at = putBytes(buf, at, this.key);
    at = putBytes(buf, at, this.value);
    buf[at++] = 0;
    return at;
  }
}

/**
 * The replacement for kafkajs' Record encoder (record/v0/index.js), given kafkajs' own for the
 * records outside the fast path.
 */
export function createRecordEncoder(
  kafkajsRecord: (fields: RecordFields) => RecordEncoding,
): (fields: RecordFields) => RecordEncoding {
  return (fields) => {
    const offsetDelta = fields.offsetDelta ?? 0;
    const timestampDelta = fields.timestampDelta ?? 0;
    if (!isEmpty(fields.headers) || !isInt32(offsetDelta) || !isInt32(timestampDelta)) {
      return kafkajsRecord(fields);
    }
    return new RecordBytes(
      asBuffer(fields.key ?? null),
      asBuffer(fields.value),
      offsetDelta,
      timestampDelta,
    );
  };
}

/** A string as kafkajs writes it (its UTF-8 bytes), so that string records take the fast path. */
function asBuffer(data: Buffer | string | null): Buffer | null {
  return typeof data === "string" ? Buffer.from(data) : data;
}

/**
 * Encoder.prototype.writeEncoderArray for arrays that may hold RecordBytes: the space of the
 * whole array is reserved once, then every record is written in place. kafkajs' own Encoders in
 * it are copied as kafkajs copies them; anything else is refused with kafkajs' message.
 */
export function writeRecords(this: KafkajsEncoder, value: unknown): KafkajsEncoder {
  if (!Array.isArray(value)) throw new Error("all values should be an instance of Encoder[]");
  let total = 0;
  for (const v of value as unknown[]) {
    if (!(v instanceof RecordBytes) && !isEncoder(v)) {
      throw new Error("all values should be an instance of Encoder[]");
    }
    total += encodedSize(v);
  }
  this.ensureAvailable(total);
  for (const v of value as (RecordBytes | KafkajsEncoder)[]) {
    if (v instanceof RecordBytes) this.offset = v.writeAt(this.buf, this.offset);
    else this.writeBufferInternal(v.buffer);
  }
  return this;
}

/** Bytes a record takes in its batch, whichever path encoded it. */
export function encodedSize(record: RecordEncoding): number {
  return record instanceof RecordBytes ? record.size : record.offset;
}

function isEncoder(v: unknown): v is KafkajsEncoder {
  return v != null && Buffer.isBuffer((v as KafkajsEncoder).buf);
}

/** kafkajs' record decoder fields of a record batch (recordBatch/v0/decoder.js). */
export interface BatchContext {
  firstOffset: string;
  firstTimestamp: string;
  magicByte: number;
  isControlBatch?: boolean;
  timestampType: number;
  maxTimestamp: string;
}

/** kafkajs' TimestampTypes.LOG_APPEND_TIME (protocol/timestampTypes.js). */
const LOG_APPEND_TIME = 1;

type KafkajsRecordDecoder = (decoder: KafkajsDecoder, batchContext?: BatchContext) => unknown;

/**
 * The replacement for kafkajs' record decoder (record/v0/decoder.js), given kafkajs' own for the
 * records outside the fast path: the same object, field for field.
 */
export function createRecordDecoder(kafkajsDecoder: KafkajsRecordDecoder): KafkajsRecordDecoder {
  return (decoder, batchContext) => {
    if (batchContext === undefined) return kafkajsDecoder(decoder, batchContext);
    const start = decoder.offset;
    const record = readRecord(decoder, batchNumbers(batchContext));
    if (record !== null) return record;
    decoder.offset = start;
    return kafkajsDecoder(decoder, batchContext);
  };
}

/** The empty header list every fast-path record shares (kafkajs builds one object per record). */
const NO_HEADERS: Readonly<Record<string, never>> = Object.freeze({});

/**
 * A record decoded on the fast path, with kafkajs' fields. Its offset and timestamp are kept as
 * numbers (`offsetNumber`, `timestampMs`), and kafkajs' decimal strings are made only when read:
 * the input reads the numbers, and kafkajs reads the offsets of a batch's first and last records
 * only (kafka/kafkajs/fetch_batch.ts). The key and the value are sliced only when read: the agent
 * reads a key only for a DLQ record, and values in place (`valueIn`). kafkajs made two strings, two
 * Buffers and a header object per record here.
 */
export class FetchedRecord {
  readonly magicByte: number;
  readonly attributes: number;
  readonly offsetNumber: number;
  readonly timestampMs: number;
  readonly isControlRecord: boolean;
  readonly batchContext: BatchContext;
  readonly #buffer: Buffer;
  readonly #keyAt: number;
  /** -1: a null key. */
  readonly #keyLength: number;
  readonly #valueAt: number;
  /** -1: a null value. */
  readonly #valueLength: number;

  constructor(
    batch: BatchNumbers,
    attributes: number,
    offsetNumber: number,
    timestampMs: number,
    buffer: Buffer,
    keyAt: number,
    keyLength: number,
    valueAt: number,
    valueLength: number,
  ) {
    this.magicByte = batch.context.magicByte;
    this.attributes = attributes;
    this.offsetNumber = offsetNumber;
    this.timestampMs = timestampMs;
    this.isControlRecord = batch.context.isControlBatch ?? false;
    this.batchContext = batch.context;
    this.#buffer = buffer;
    this.#keyAt = keyAt;
    this.#keyLength = keyLength;
    this.#valueAt = valueAt;
    this.#valueLength = valueLength;
  }

  get value(): Buffer | null {
    const at = this.#valueAt;
    return this.#valueLength < 0 ? null : this.#buffer.subarray(at, at + this.#valueLength);
  }

  /** The value where it lies in the fetched bytes (InputBatch.valueIn), or null. */
  valueIn(range: ByteRange): Buffer | null {
    if (this.#valueLength < 0) return null;
    range.start = this.#valueAt;
    range.end = this.#valueAt + this.#valueLength;
    return this.#buffer;
  }

  get key(): Buffer | null {
    const at = this.#keyAt;
    return this.#keyLength < 0 ? null : this.#buffer.subarray(at, at + this.#keyLength);
  }

  get offset(): string {
    return String(this.offsetNumber);
  }

  get timestamp(): string {
    return String(this.timestampMs);
  }

  get headers(): Readonly<Record<string, never>> {
    return NO_HEADERS;
  }
}

/** A record batch's fields the records add their deltas to, as numbers (NaN: not safe). */
interface BatchNumbers {
  context: BatchContext;
  firstOffset: number;
  /** The timestamp every record gets (log append time), or null: first timestamp + delta. */
  appendTime: number | null;
  firstTimestamp: number;
}

function batchNumbers(context: BatchContext): BatchNumbers {
  return {
    context,
    firstOffset: safeNumber(context.firstOffset),
    appendTime: context.timestampType === LOG_APPEND_TIME && context.maxTimestamp
      ? safeNumber(context.maxTimestamp)
      : null,
    firstTimestamp: safeNumber(context.firstTimestamp),
  };
}

/** A decimal int64 as a number when it is a safe integer, else NaN. */
function safeNumber(decimal: string): number {
  const n = Number(decimal);
  return Number.isSafeInteger(n) ? n : NaN;
}

/**
 * A record from its attributes on, as kafkajs decodes it, when it is on the fast path (a short
 * timestamp delta, safe-integer sums, no headers); null otherwise, with the decoder's offset
 * anywhere in the record.
 */
function readRecord(decoder: KafkajsDecoder, batch: BatchNumbers): FetchedRecord | null {
  const attributes = decoder.readInt8();
  const timestampDelta = readShortVarLong(decoder);
  if (Number.isNaN(timestampDelta)) return null;
  const offsetDelta = decoder.readVarInt();
  const timestamp = batch.appendTime ?? batch.firstTimestamp + timestampDelta;
  const offset = batch.firstOffset + offsetDelta;
  if (!Number.isSafeInteger(timestamp) || !Number.isSafeInteger(offset)) return null;
  const keyLength = decoder.readVarInt();
  const keyAt = decoder.offset;
  if (keyLength > 0) decoder.offset += keyLength;
  const valueLength = decoder.readVarInt();
  const valueAt = decoder.offset;
  if (valueLength > 0) decoder.offset += valueLength;
  const headerCount = decoder.readVarInt();
  if (headerCount !== 0 && headerCount !== -1) return null;
  return new FetchedRecord(
    batch,
    attributes,
    offset,
    timestamp,
    decoder.buffer,
    keyAt,
    keyLength,
    valueAt,
    valueLength,
  );
}

/** What the record batch decoder is built from: kafkajs' own modules, as the patches load them. */
export interface BatchDecoderDeps {
  /** kafkajs' record batch decoder (recordBatch/v0/decoder.js), for compressed or partial ones. */
  shipped: (fetchDecoder: KafkajsBatchDecoder) => Promise<unknown>;
  Decoder: new (buffer: Buffer) => KafkajsDecoder;
  /** The record decoder for a record outside the fast path, over the record's own bytes. */
  record: KafkajsRecordDecoder;
}

/** kafkajs' protocol Decoder, as far as a record batch's head takes it. */
export interface KafkajsBatchDecoder extends KafkajsDecoder {
  readInt16(): number;
  readInt32(): number;
  readInt64(): { toString(): string };
  readArray(reader: (decoder: KafkajsBatchDecoder) => unknown): unknown[];
  slice(size: number): KafkajsBatchDecoder;
  forward(size: number): void;
}

/** Offset of a record batch's attributes: first offset, length, leader epoch, magic, CRC. */
const ATTRIBUTES_AT = 8 + 4 + 4 + 1 + 4;
const COMPRESSION_CODEC_MASK = 0x07;
const TRANSACTIONAL_FLAG_MASK = 0x10;
const CONTROL_FLAG_MASK = 0x20;
const TIMESTAMP_TYPE_FLAG_MASK = 0x08;
/** kafkajs' TimestampTypes.CREATE_TIME. */
const CREATE_TIME = 0;

/**
 * The replacement for kafkajs' record batch decoder (recordBatch/v0/decoder.js): an uncompressed
 * batch's records are read where they lie, where kafkajs slices each record into a Buffer and a
 * Decoder of its own first. The same batch object and records as kafkajs'.
 */
export function createRecordBatchDecoder(
  deps: BatchDecoderDeps,
): (fetchDecoder: KafkajsBatchDecoder) => Promise<unknown> {
  // deno-lint-ignore require-await
  return async (fetchDecoder) => {
    const buf = fetchDecoder.buffer;
    const at = fetchDecoder.offset;
    if (
      buf.length < at + ATTRIBUTES_AT + 2 ||
      (buf.readInt16BE(at + ATTRIBUTES_AT) & COMPRESSION_CODEC_MASK) !== 0 ||
      buf.length - (at + 12) < buf.readInt32BE(at + 8)
    ) {
      return deps.shipped(fetchDecoder);
    }
    const firstOffset = fetchDecoder.readInt64().toString();
    const length = fetchDecoder.readInt32();
    const decoder = fetchDecoder.slice(length);
    fetchDecoder.forward(length);
    const partitionLeaderEpoch = decoder.readInt32();
    const magicByte = decoder.readInt8();
    decoder.readInt32(); // CRC, not checked (nor by kafkajs)
    const attributes = decoder.readInt16();
    const lastOffsetDelta = decoder.readInt32();
    const firstTimestamp = decoder.readInt64().toString();
    const maxTimestamp = decoder.readInt64().toString();
    const producerId = decoder.readInt64().toString();
    const producerEpoch = decoder.readInt16();
    const firstSequence = decoder.readInt32();
    // kafkajs' field order, so the objects have the shape of kafkajs' own.
    const recordContext = {
      firstOffset,
      firstTimestamp,
      partitionLeaderEpoch,
      inTransaction: (attributes & TRANSACTIONAL_FLAG_MASK) > 0,
      isControlBatch: (attributes & CONTROL_FLAG_MASK) > 0,
      lastOffsetDelta,
      producerId,
      producerEpoch,
      firstSequence,
      maxTimestamp,
      timestampType: (attributes & TIMESTAMP_TYPE_FLAG_MASK) > 0 ? LOG_APPEND_TIME : CREATE_TIME,
    };
    const batchContext = { ...recordContext, magicByte };
    const numbers = batchNumbers(batchContext);
    const records = decoder.readArray((d) => {
      const size = d.readVarInt();
      const start = d.offset;
      const end = start + size;
      const record = readRecord(d, numbers);
      d.offset = end;
      return record ?? deps.record(new deps.Decoder(d.buffer.subarray(start, end)), batchContext);
    });
    return { ...recordContext, records };
  };
}

/**
 * A varlong of at most 4 bytes (|value| < 2^27) as a number; NaN, with nothing consumed, for a
 * longer one (then kafkajs decodes the record).
 */
function readShortVarLong(decoder: KafkajsDecoder): number {
  const buf = decoder.buffer;
  let at = decoder.offset;
  let result = 0;
  for (let shift = 0; shift < 28; shift += 7) {
    const byte = buf[at++];
    result |= (byte & 0x7f) << shift;
    if (byte < 0x80) {
      decoder.offset = at;
      return (result >>> 1) ^ -(result & 1);
    }
  }
  return NaN;
}

function isEmpty(headers: Record<string, unknown> | undefined): boolean {
  if (headers === undefined) return true;
  for (const _ in headers) return false;
  return true;
}

function varIntSize(value: number): number {
  return uVarIntSize(zigzag32(value));
}

function bytesSize(bytes: Buffer | null): number {
  return bytes === null ? 1 : varIntSize(bytes.length) + bytes.length;
}

/** Zigzag varint of a 32-bit integer at buf[at..]; returns the next offset. */
function putVarInt(buf: Uint8Array, at: number, value: number): number {
  return putUVarInt(buf, at, zigzag32(value));
}

/** Varint length (-1 for null), then the bytes. */
function putBytes(buf: Uint8Array, at: number, bytes: Buffer | null): number {
  if (bytes === null) return putVarInt(buf, at, -1);
  at = putVarInt(buf, at, bytes.length);
  buf.set(bytes, at);
  return at + bytes.length;
}
