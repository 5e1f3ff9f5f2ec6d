import { Buffer } from "node:buffer";
import type { KafkajsEncoder, RecordEncoding, RecordFields } from "./record_codec.ts";

/**
 * kafkajs 2.2.4's Produce request (protocol/requests/produce/v3/request.js, which v4-v7 reuse)
 * for uncompressed record batches, installed by kafka/kafkajs_patches.ts. kafkajs encodes each
 * record batch into an encoder, copies it into a second (behind its CRC), a third (behind its
 * offset), then into the partition's, the topic's and the request's: six copies of every byte,
 * each into a zero-filled Buffer grown to the next power of two. Here the whole request is
 * written into one encoder sized up front, lengths and CRCs filled in behind, so the bytes are
 * the same with one write each. Compressed batches go through kafkajs' own code.
 */

/** What kafkajs' produce request takes (see its v3 request.js). */
export interface ProduceArgs {
  acks: number;
  timeout: number;
  transactionalId?: string | null;
  producerId?: unknown;
  producerEpoch?: number;
  compression?: number;
  topicData: {
    topic: string;
    partitions: {
      partition: number;
      firstSequence?: number;
      messages: (RecordFields & { timestamp?: string | number | null })[];
    }[];
  }[];
}

interface ProduceRequest {
  apiKey: number;
  apiVersion: number;
  apiName: string;
  expectResponse: () => boolean;
  encode: () => Promise<KafkajsEncoder>;
}

/** What the request is built from: kafkajs' own modules, as the patches load them. */
export interface ProduceDeps {
  shipped: (args: ProduceArgs) => ProduceRequest;
  Encoder: new (initialSize?: number) => KafkajsEncoder & KafkajsWriter;
  /** kafkajs' Long.fromInt, for the defaults kafkajs gives producerId and firstOffset. */
  longFromInt: (value: number) => unknown;
  record: (fields: RecordFields) => RecordEncoding;
  recordSize: (record: RecordEncoding) => number;
  crc32c: (bytes: Uint8Array) => number;
  magicByte: number;
}

interface KafkajsWriter {
  writeString(value: string | null): KafkajsWriter;
  writeInt8(value: number): KafkajsWriter;
  writeInt16(value: number): KafkajsWriter;
  writeInt32(value: number): KafkajsWriter;
  writeUInt32(value: number): KafkajsWriter;
  writeInt64(value: unknown): KafkajsWriter;
  writeEncoderArray(value: RecordEncoding[]): KafkajsWriter;
}

/** kafkajs' Types.None and the record batch attribute of a transactional batch. */
const COMPRESSION_NONE = 0;
const TRANSACTIONAL_MASK = 16;

/**
 * Bytes of a partition's entry before its records: partition, record set size, then the batch's
 * first offset, length, leader epoch, magic, CRC, attributes, last offset delta, first and max
 * timestamps, producer id and epoch, first sequence and record count.
 */
const PARTITION_HEAD = 4 + 4 + 8 + 4 + 4 + 1 + 4 + 2 + 4 + 8 + 8 + 8 + 2 + 4 + 4;

export function createProduceRequest(deps: ProduceDeps): (args: ProduceArgs) => ProduceRequest {
  return (args) => {
    const request = deps.shipped(args);
    if ((args.compression ?? COMPRESSION_NONE) !== COMPRESSION_NONE) return request;
    return { ...request, encode: () => Promise.resolve(encodeProduce(deps, args)) };
  };
}

function encodeProduce(deps: ProduceDeps, args: ProduceArgs): KafkajsEncoder {
  const {
    acks,
    timeout,
    transactionalId = null,
    producerId = deps.longFromInt(-1),
    producerEpoch = 0,
    topicData,
  } = args;
  const attributes = transactionalId ? TRANSACTIONAL_MASK : 0;
  const batches = topicData.map(({ partitions }) =>
    partitions.map(({ messages }) => prepareRecords(deps, messages))
  );
  let size = stringSize(transactionalId) + 2 + 4 + 4;
  topicData.forEach(({ topic }, t) => {
    size += stringSize(topic) + 4;
    for (const { records } of batches[t]) {
      size += PARTITION_HEAD;
      for (const r of records) size += deps.recordSize(r);
    }
  });
  // Sized exactly: kafkajs' constructor would round up to the next power of two.
  const out = new deps.Encoder(0);
  out.buf = Buffer.alloc(size);
  out.writeString(transactionalId).writeInt16(acks).writeInt32(timeout)
    .writeInt32(topicData.length);
  topicData.forEach(({ topic, partitions }, t) => {
    out.writeString(topic).writeInt32(partitions.length);
    partitions.forEach(({ partition, firstSequence = 0 }, p) => {
      const { records, firstTimestamp, maxTimestamp } = batches[t][p];
      out.writeInt32(partition);
      const setSizeAt = out.offset;
      out.writeInt32(0).writeInt64(deps.longFromInt(0));
      const batchLengthAt = out.offset;
      out.writeInt32(0).writeInt32(0).writeInt8(deps.magicByte);
      const crcAt = out.offset;
      out.writeUInt32(0);
      const bodyAt = out.offset;
      out.writeInt16(attributes).writeInt32(records.length - 1).writeInt64(firstTimestamp)
        .writeInt64(maxTimestamp).writeInt64(producerId).writeInt16(producerEpoch)
        .writeInt32(firstSequence).writeInt32(records.length).writeEncoderArray(records);
      const end = out.offset;
      const buf = out.buf;
      buf.writeInt32BE(end - setSizeAt - 4, setSizeAt);
      buf.writeInt32BE(end - batchLengthAt - 4, batchLengthAt);
      buf.writeUInt32BE(deps.crc32c(buf.subarray(bodyAt, end)), crcAt);
    });
  });
  return out;
}

type Message = ProduceArgs["topicData"][number]["partitions"][number]["messages"][number];

/**
 * kafkajs' record preparation for one partition (produce/v3/request.js), with its arithmetic,
 * coercions of timestamp strings included. The record encoder reads its fields at once, so one
 * fields object serves every record (kafkajs spreads a new one per record), and a partition whose
 * records carry no timestamp (predictions) skips the sort.
 */
function prepareRecords(deps: ProduceDeps, messages: readonly Message[]) {
  const dateNow = Date.now();
  let firstTimestamp: string | number = dateNow;
  let maxTimestamp: string | number = dateNow;
  if (messages.some((m) => m.timestamp != null)) {
    const timestamps = messages.map((m) => m.timestamp).filter((t) => t != null).sort();
    firstTimestamp = timestamps[0]!;
    maxTimestamp = timestamps[timestamps.length - 1]!;
  }
  const fields: RecordFields = { value: null, offsetDelta: 0, timestampDelta: 0 };
  const records = new Array<RecordEncoding>(messages.length);
  for (let i = 0; i < messages.length; i++) {
    const m = messages[i];
    fields.key = m.key;
    fields.value = m.value;
    fields.headers = m.headers;
    fields.offsetDelta = i;
    fields.timestampDelta = ((m.timestamp || dateNow) as number) - (firstTimestamp as number);
    records[i] = deps.record(fields);
  }
  return { records, firstTimestamp, maxTimestamp };
}

function stringSize(value: string | null): number {
  return value == null ? 2 : 2 + Buffer.byteLength(value, "utf8");
}
