import type { RowBatch } from "../producer/file_reader.ts";

const DAY_MS = 86_400_000;
const CHUNK_BYTES = 256 * 1024;
/** Room for a shifted line even with every field written as text (about 180 bytes). */
const MAX_SHIFTED_LINE = 256;
const ZERO = 48;
const COMMA = 44;
const COLON = 58;
const DOT = 46;

const encoder = new TextEncoder();

/**
 * The message values of a capacity run's rows: the file's own bytes on the first pass and for
 * rejected lines (they go to the agents' DLQ either way), a clean CSV line of the shifted fields
 * afterwards. The load driver sends tens of thousands of these a second, so they are written as
 * bytes into shared chunks (one allocation per few thousand rows, not a string, an encoding and a
 * buffer per row). A chunk is never written again once full: the views stay valid for as long as
 * the client holds them.
 */
export class RowValues {
  #chunk = new Uint8Array(CHUNK_BYTES);
  #at = 0;
  /** The day whose "YYYY-MM-DD " is in #dayPrefix. */
  #day = NaN;
  readonly #dayPrefix = new Uint8Array(11);

  /** Row i's value on this pass of the files. */
  of(batch: RowBatch, i: number, pass: number): Uint8Array {
    if (pass === 0 || batch.reason[i] !== null) return this.#copy(batch.line(i));
    this.#reserve(MAX_SHIFTED_LINE);
    const start = this.#at;
    const seconds = batch.timeSeconds[i];
    this.#uint(batch.transactionId[i]);
    this.#byte(COMMA);
    this.#datetime(batch.eventTimeMs[i]);
    this.#byte(COMMA);
    this.#uint(batch.customerId[i]);
    this.#byte(COMMA);
    this.#uint(batch.terminalId[i]);
    this.#byte(COMMA);
    this.#amount(batch.amount[i]);
    this.#byte(COMMA);
    this.#uint(seconds);
    this.#byte(COMMA);
    this.#uint(Math.floor(seconds / 86_400));
    this.#byte(COMMA);
    this.#uint(batch.fraud[i]);
    this.#byte(COMMA);
    this.#uint(batch.scenario[i]);
    return this.#chunk.subarray(start, this.#at);
  }

  #reserve(bytes: number): void {
    if (this.#at + bytes > this.#chunk.length) {
      this.#chunk = new Uint8Array(Math.max(CHUNK_BYTES, bytes));
      this.#at = 0;
    }
  }

  #copy(line: Uint8Array): Uint8Array {
    this.#reserve(line.length);
    const start = this.#at;
    this.#chunk.set(line, start);
    this.#at += line.length;
    return this.#chunk.subarray(start, this.#at);
  }

  #byte(b: number): void {
    this.#chunk[this.#at++] = b;
  }

  /** A whole number as String() writes it; anything else (never a parsed field) as text. */
  #uint(n: number): void {
    if (!(Number.isSafeInteger(n) && n >= 0)) return this.#text(String(n));
    let digits = 1;
    for (let p = 10; p <= n; p *= 10) digits++;
    const chunk = this.#chunk;
    let at = this.#at + digits;
    this.#at = at;
    do {
      chunk[--at] = ZERO + n % 10;
      n = Math.floor(n / 10);
    } while (n > 0);
  }

  /** toFixed(2), written from whole cents when the amount has at most two decimals. */
  #amount(amount: number): void {
    const cents = Math.round(amount * 100);
    if (!(Math.abs(amount * 100 - cents) < 1e-6 && Number.isSafeInteger(cents) && cents >= 0)) {
      return this.#text(amount.toFixed(2));
    }
    this.#uint(Math.floor(cents / 100));
    this.#byte(DOT);
    this.#two(cents % 100);
  }

  /** "YYYY-MM-DD HH:MM:SS" of an epoch ms, as toISOString() gives it (seconds truncated). */
  #datetime(ms: number): void {
    const day = Math.floor(ms / DAY_MS);
    if (day !== this.#day) {
      const iso = new Date(day * DAY_MS).toISOString();
      // Years 0..9999 only: other dates are written as text, with their sign and six digits.
      if (iso.length !== 24) return this.#text(iso.slice(0, 19).replace("T", " "));
      encoder.encodeInto(iso.slice(0, 10) + " ", this.#dayPrefix);
      this.#day = day;
    }
    this.#chunk.set(this.#dayPrefix, this.#at);
    this.#at += 11;
    const s = Math.floor((ms - day * DAY_MS) / 1000);
    this.#two(Math.floor(s / 3600));
    this.#byte(COLON);
    this.#two(Math.floor(s / 60) % 60);
    this.#byte(COLON);
    this.#two(s % 60);
  }

  #two(n: number): void {
    this.#chunk[this.#at++] = ZERO + Math.floor(n / 10);
    this.#chunk[this.#at++] = ZERO + n % 10;
  }

  /** ASCII only (numbers and dates), within the room the line reserved. */
  #text(s: string): void {
    this.#at += encoder.encodeInto(s, this.#chunk.subarray(this.#at)).written;
  }
}
