/** Types the type tests proxy: one of each kind of member a `Proxy<T>` must keep. */
export class Model {
  readonly name: string;
  weights: number[] = [];
  #secret = 0;

  constructor(name: string) {
    this.name = name;
  }

  get size(): number {
    return this.weights.length + this.#secret;
  }

  map<U>(f: (weight: number) => U): U[] {
    return this.weights.map(f);
  }

  parse(text: string): number;
  parse(value: number): string;
  parse(input: string | number): number | string {
    return typeof input === 'string' ? Number(input) : String(input);
  }

  static same(a: Model, b: Model): boolean {
    return a.#secret === b.#secret;
  }
}

export interface Animal {
  readonly name: string;
}

export interface Dog extends Animal {
  bark(): string;
}

export interface Scorer {
  (input: string): number;
  readonly scale: number;
}

export type Table = Record<string, number>;
