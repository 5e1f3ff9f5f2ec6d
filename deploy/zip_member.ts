/**
 * Reads one file out of a zip archive (a Python wheel, an official Deno release zip) without an
 * `unzip` program: a build host that only reaches package mirrors may have neither unzip nor
 * anything else, and the toolchain needs exactly one member of each archive.
 */

const EOCD = 0x06054b50;
const CENTRAL = 0x02014b50;
const LOCAL = 0x04034b50;
const STORED = 0;
const DEFLATED = 8;

/** The bytes of `name` in the zip `archive`; throws naming the member when it is not there. */
export async function zipMember(
  archive: Uint8Array<ArrayBuffer>,
  name: string,
): Promise<Uint8Array> {
  const view = new DataView(archive.buffer, archive.byteOffset, archive.byteLength);
  // The end record sits in the last 22 bytes plus at most a 64 KiB comment.
  let eocd = -1;
  for (let i = archive.length - 22; i >= Math.max(0, archive.length - 22 - 0xffff); i--) {
    if (view.getUint32(i, true) === EOCD) {
      eocd = i;
      break;
    }
  }
  if (eocd < 0) throw new Error("not a zip archive (no end of central directory)");
  const entries = view.getUint16(eocd + 10, true);
  let at = view.getUint32(eocd + 16, true);
  const decoder = new TextDecoder();
  for (let n = 0; n < entries; n++) {
    if (view.getUint32(at, true) !== CENTRAL) throw new Error("corrupt zip central directory");
    const method = view.getUint16(at + 10, true);
    const compressedSize = view.getUint32(at + 20, true);
    const size = view.getUint32(at + 24, true);
    const nameLength = view.getUint16(at + 28, true);
    const extraLength = view.getUint16(at + 30, true);
    const commentLength = view.getUint16(at + 32, true);
    const localHeader = view.getUint32(at + 42, true);
    const entryName = decoder.decode(archive.subarray(at + 46, at + 46 + nameLength));
    at += 46 + nameLength + extraLength + commentLength;
    if (entryName !== name) continue;
    if (compressedSize === 0xffffffff || size === 0xffffffff || localHeader === 0xffffffff) {
      throw new Error(`${name}: zip64 entries are not supported`);
    }
    if (view.getUint32(localHeader, true) !== LOCAL) throw new Error("corrupt zip local header");
    const dataStart = localHeader + 30 + view.getUint16(localHeader + 26, true) +
      view.getUint16(localHeader + 28, true);
    const data = archive.subarray(dataStart, dataStart + compressedSize);
    if (method === STORED) return data.slice();
    if (method !== DEFLATED) throw new Error(`${name}: unsupported zip method ${method}`);
    const inflated = await new Response(
      new Blob([data]).stream().pipeThrough(new DecompressionStream("deflate-raw")),
    ).arrayBuffer();
    if (inflated.byteLength !== size) throw new Error(`${name}: inflated to the wrong size`);
    return new Uint8Array(inflated);
  }
  throw new Error(`the archive has no ${name}`);
}
