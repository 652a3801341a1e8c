import type { Graph } from './graph.ts';

/** Fresh names for a graph: never clashing with any name in it or its subgraphs, nor with one given before. */
export class FreshNames {
  private readonly used: Set<string>;

  constructor(graph: Graph) {
    this.used = graph.allNames();
  }

  /** `base`, or `base_1`, `base_2` … if taken. */
  fresh(base: string): string {
    let name = base;
    for (let i = 1; this.used.has(name); i++) name = `${base}_${i}`;
    this.used.add(name);
    return name;
  }
}
