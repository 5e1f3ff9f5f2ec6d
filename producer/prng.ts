/**
 * Seeded pseudo-random numbers for the data generator: xoshiro128** (32-bit state words, so
 * it runs on Math.imul and small integers without BigInt), seeded through splitmix32. The same
 * (seed, stream) gives the same sequence on every machine and Deno version, which is what makes
 * the generated files byte-identical for a seed. Independent streams of one seed let the
 * simulation, the fraud injection and the dirt draw separately, so turning dirt off does not
 * change the transactions.
 */
export class Rng {
  private a: number;
  private b: number;
  private c: number;
  private d: number;
  /** Box–Muller yields two normals per draw; the second one waits here. */
  private spare = 0;
  private hasSpare = false;

  constructor(seed: number, stream: number) {
    // Fold a seed above 2^32 into its low word so that every safe integer is a distinct seed.
    let s = (seed >>> 0) ^ Math.imul(Math.floor(seed / 0x1_0000_0000) >>> 0, 0x9e3779b9) ^
      Math.imul(stream + 1, 0x85ebca6b);
    const next = () => {
      s = (s + 0x9e3779b9) | 0;
      let z = s;
      z = Math.imul(z ^ (z >>> 16), 0x85ebca6b);
      z = Math.imul(z ^ (z >>> 13), 0xc2b2ae35);
      return (z ^ (z >>> 16)) | 0;
    };
    this.a = next();
    this.b = next();
    this.c = next();
    this.d = next();
    if ((this.a | this.b | this.c | this.d) === 0) this.a = 1;
  }

  /** Next 32 random bits as an unsigned integer. */
  nextU32(): number {
    const result = Math.imul(rotl(Math.imul(this.b, 5), 7), 9);
    const t = this.b << 9;
    this.c ^= this.a;
    this.d ^= this.b;
    this.b ^= this.c;
    this.a ^= this.d;
    this.c ^= t;
    this.d = rotl(this.d, 11);
    return result >>> 0;
  }

  /** Uniform in [0, 1). 32 bits of resolution are plenty for a simulation. */
  uniform(): number {
    return this.nextU32() * 2.3283064365386963e-10;
  }

  /** Uniform integer in [0, n), n below 2^32 (the modulo bias is under n / 2^32). */
  below(n: number): number {
    return Math.floor(this.uniform() * n);
  }

  /** Standard normal (Box–Muller). */
  normal(): number {
    if (this.hasSpare) {
      this.hasSpare = false;
      return this.spare;
    }
    // (k + 0.5) / 2^32 is never 0, so the logarithm stays finite.
    const u = (this.nextU32() + 0.5) * 2.3283064365386963e-10;
    const v = this.uniform();
    const r = Math.sqrt(-2 * Math.log(u));
    const theta = 2 * Math.PI * v;
    this.spare = r * Math.sin(theta);
    this.hasSpare = true;
    return r * Math.cos(theta);
  }

  /** Poisson(lambda) by Knuth's product of uniforms: exact, and fast for the small means here. */
  poisson(lambda: number): number {
    const limit = Math.exp(-lambda);
    let k = 0;
    let p = this.uniform();
    while (p > limit) {
      k++;
      p *= this.uniform();
    }
    return k;
  }
}

function rotl(x: number, k: number): number {
  return (x << k) | (x >>> (32 - k));
}
