/** The 2-D objectives the Descent page offers, each with its gradient written out by hand. */
export interface Objective2D {
  readonly name: string
  readonly label: string
  readonly f: (x: number, y: number) => number
  readonly grad: (x: number, y: number) => [number, number]
  /** the plotted window [xmin, xmax, ymin, ymax] */
  readonly box: readonly [number, number, number, number]
  readonly start: readonly [number, number]
  /** a learning rate that suits it, the slider's starting value */
  readonly lr: number
}

export const objectives: readonly Objective2D[] = [
  {
    name: 'sphere',
    label: 'x0² + x1²',
    f: (x, y) => x * x + y * y,
    grad: (x, y) => [2 * x, 2 * y],
    box: [-4.5, 4.5, -4.5, 4.5],
    start: [-3, 4],
    lr: 0.05,
  },
  {
    name: 'ellipse',
    label: 'x²/20 + y²',
    f: (x, y) => (x * x) / 20 + y * y,
    grad: (x, y) => [x / 10, 2 * y],
    box: [-10, 10, -5, 5],
    start: [-7, 2],
    lr: 0.1,
  },
  {
    name: 'rosenbrock',
    label: 'Rosenbrock (1−x)² + 100(y−x²)²',
    f: (x, y) => (1 - x) ** 2 + 100 * (y - x * x) ** 2,
    grad: (x, y) => [-2 * (1 - x) - 400 * x * (y - x * x), 200 * (y - x * x)],
    box: [-2, 2, -1, 3],
    start: [-1.5, 2],
    lr: 0.001,
  },
  {
    name: 'himmelblau',
    label: 'Himmelblau (x²+y−11)² + (x+y²−7)²',
    f: (x, y) => (x * x + y - 11) ** 2 + (x + y * y - 7) ** 2,
    grad: (x, y) => [
      4 * x * (x * x + y - 11) + 2 * (x + y * y - 7),
      2 * (x * x + y - 11) + 4 * y * (x + y * y - 7),
    ],
    box: [-5, 5, -5, 5],
    start: [0, 0],
    lr: 0.01,
  },
  {
    name: 'saddle',
    label: 'saddle x² − y²',
    f: (x, y) => x * x - y * y,
    grad: (x, y) => [2 * x, -2 * y],
    box: [-3, 3, -3, 3],
    start: [-2.5, 0.05],
    lr: 0.05,
  },
]
