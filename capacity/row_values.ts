import type { RowBatch } from "../producer/file_reader.ts";
import { LINE_ROOM, LineBuffer } from "../producer/line_buffer.ts";

const DAY_MS = 86_400_000;
const CHUNK_BYTES = 256 * 1024;
const COMMA = 0x2c;
const DOT = 0x2e;

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
  readonly #out = new LineBuffer(CHUNK_BYTES);
  /** The day whose "YYYY-MM-DD " is in #dayPrefix. */
  #day = NaN;
  readonly #dayPrefix = new Uint8Array(11);

  /** Row i's value on this pass of the files. */
  of(batch: RowBatch, i: number, pass: number): Uint8Array {
    const out = this.#out;
    if (out.full()) out.take();
    const start = out.length;
    if (pass === 0 || batch.reason[i] !== null) {
      const line = batch.line(i);
      // A line longer than a chunk's free room (rejected as too long) is copied on its own.
      if (line.length > LINE_ROOM) return line.slice();
      out.bytes(line);
      return out.since(start);
    }
    const seconds = batch.timeSeconds[i];
    this.#uint(batch.transactionId[i]);
    out.byte(COMMA);
    this.#datetime(batch.eventTimeMs[i]);
    out.byte(COMMA);
    this.#uint(batch.customerId[i]);
    out.byte(COMMA);
    this.#uint(batch.terminalId[i]);
    out.byte(COMMA);
    this.#amount(batch.amount[i]);
    out.byte(COMMA);
    this.#uint(seconds);
    out.byte(COMMA);
    this.#uint(Math.floor(seconds / 86_400));
    out.byte(COMMA);
    out.uint(batch.fraud[i]);
    out.byte(COMMA);
    out.uint(batch.scenario[i]);
    return out.since(start);
  }

  /** A whole number as String() writes it; anything else (never a parsed field) as text. */
  #uint(n: number): void {
    if (Number.isSafeInteger(n) && n >= 0) this.#out.uint(n);
    else this.#out.ascii(String(n));
  }

  /** toFixed(2), written from whole cents when the amount has at most two decimals. */
  #amount(amount: number): void {
    const cents = Math.round(amount * 100);
    if (!(Math.abs(amount * 100 - cents) < 1e-6 && Number.isSafeInteger(cents) && cents >= 0)) {
      return this.#out.ascii(amount.toFixed(2));
    }
    this.#out.uint(Math.floor(cents / 100));
    this.#out.byte(DOT);
    this.#out.two(cents % 100);
  }

  /** "YYYY-MM-DD HH:MM:SS" of an epoch ms, as toISOString() gives it (seconds truncated). */
  #datetime(ms: number): void {
    const day = Math.floor(ms / DAY_MS);
    if (day !== this.#day) {
      const iso = new Date(day * DAY_MS).toISOString();
      // Years 0..9999 only: other dates are written as text, with their sign and six digits.
      if (iso.length !== 24) return this.#out.ascii(iso.slice(0, 19).replace("T", " "));
      encoder.encodeInto(iso.slice(0, 10) + " ", this.#dayPrefix);
      this.#day = day;
    }
    this.#out.bytes(this.#dayPrefix);
    this.#out.clock(Math.floor((ms - day * DAY_MS) / 1000));
  }
}
