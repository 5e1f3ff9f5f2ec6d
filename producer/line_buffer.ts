const DOT = 0x2e;
const COLON = 0x3a;
const ZERO = 0x30;
/** Room kept free at the end of a chunk: more than the longest row plus a garbage line. */
export const LINE_ROOM = 512;

/** Formats rows straight into bytes, so that no string is built per row. */
export class LineBuffer {
  private buf: Uint8Array;
  length = 0;

  constructor(capacity: number) {
    this.buf = new Uint8Array(capacity + LINE_ROOM);
  }

  full(): boolean {
    return this.length >= this.buf.length - LINE_ROOM;
  }

  /** The bytes written since `from`, as a view: `take` starts a new buffer, so it stays valid. */
  since(from: number): Uint8Array {
    return this.buf.subarray(from, this.length);
  }

  /** Hands the filled bytes over and starts a fresh buffer. */
  take(): Uint8Array {
    const chunk = this.buf.subarray(0, this.length);
    this.buf = new Uint8Array(this.buf.length);
    this.length = 0;
    return chunk;
  }

  byte(b: number): void {
    this.buf[this.length++] = b;
  }

  bytes(b: Uint8Array): void {
    this.buf.set(b, this.length);
    this.length += b.length;
  }

  ascii(s: string): void {
    for (let i = 0; i < s.length; i++) this.buf[this.length++] = s.charCodeAt(i);
  }

  /** Appends a copy of bytes [from, to) of this buffer. */
  repeat(from: number, to: number): void {
    this.buf.copyWithin(this.length, from, to);
    this.length += to - from;
  }

  /** Index of the nth occurrence of byte b from `from` on (n >= 1). */
  indexOf(b: number, from: number, n: number): number {
    let i = from - 1;
    while (n-- > 0) i = this.buf.indexOf(b, i + 1);
    return i;
  }

  uint(n: number): void {
    let digits = 1;
    for (let p = 10; p <= n; p *= 10) digits++;
    let i = this.length + digits;
    this.length = i;
    do {
      const q = Math.floor(n / 10);
      this.buf[--i] = ZERO + (n - q * 10);
      n = q;
    } while (n > 0);
  }

  /** "HH:MM:SS" of a second of the day. */
  clock(s: number): void {
    const h = Math.floor(s / 3600);
    const m = Math.floor((s - h * 3600) / 60);
    const sec = s - h * 3600 - m * 60;
    this.two(h);
    this.byte(COLON);
    this.two(m);
    this.byte(COLON);
    this.two(sec);
  }

  /** Cents as the files print amounts (shortest form, like pandas): 70.91, 70.9, 70.0. */
  amount(cents: number): void {
    const whole = Math.floor(cents / 100);
    const frac = cents - whole * 100;
    this.uint(whole);
    this.byte(DOT);
    if (frac % 10 === 0) {
      this.byte(ZERO + frac / 10);
    } else {
      this.two(frac);
    }
  }

  /** Two digits, 00..99. */
  two(n: number): void {
    const tens = Math.floor(n / 10);
    this.byte(ZERO + tens);
    this.byte(ZERO + n - tens * 10);
  }
}
