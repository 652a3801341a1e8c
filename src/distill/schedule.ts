/** Learning-rate schedules over the optimizer steps of a run. */
export type LrSchedule = 'constant' | 'cosine' | 'step';

export interface ScheduleOptions {
  schedule: LrSchedule;
  learningRate: number;
  totalSteps: number;
  stepsPerEpoch: number;
  /** step: multiply by `gamma` every `stepEpochs` epochs. */
  stepEpochs?: number;
  gamma?: number;
  /** Linear warm-up from lr/warmupSteps to lr over the first steps; the schedule then runs over the rest. */
  warmupSteps?: number;
}

/** The learning rate at optimizer step `step` (0-based). Cosine decays to 0 at the last step. */
export function learningRateAt(o: ScheduleOptions, step: number): number {
  const warmup = o.warmupSteps ?? 0;
  if (step < warmup) return (o.learningRate * (step + 1)) / warmup;
  return afterWarmup({ ...o, totalSteps: o.totalSteps - warmup }, step - warmup);
}

function afterWarmup(o: ScheduleOptions, step: number): number {
  switch (o.schedule) {
    case 'constant':
      return o.learningRate;
    case 'cosine':
      return (o.learningRate * (1 + Math.cos((Math.PI * step) / Math.max(o.totalSteps, 1)))) / 2;
    case 'step':
      return o.learningRate * (o.gamma ?? 0.1) ** Math.floor(step / o.stepsPerEpoch / Math.max(o.stepEpochs ?? 1, 1));
  }
}
