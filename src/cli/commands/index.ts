// One line per subcommand; each module exports `register(program)`.
import type { Command } from 'commander';
import { register as registerBudget } from './budget.ts';
import { register as registerBudgetRun } from './budget-run.ts';
import { register as registerWeaken } from './weaken.ts';
import { register as registerConvert } from './convert.ts';
import { register as registerSynth } from './synth.ts';
import { register as registerEval } from './eval.ts';
import { register as registerSam } from './sam.ts';
import { register as registerTrain } from './train.ts';
import { register as registerPredict } from './predict.ts';
import { register as registerTeach } from './teach.ts';
import { register as registerPrepare } from './prepare.ts';
import { register as registerDemo } from './demo.ts';
import { register as registerPretrain } from './pretrain.ts';
import { addExamples } from '../examples.ts';

export function registerAll(program: Command): void {
  registerBudget(program);
  registerBudgetRun(program);
  registerWeaken(program);
  registerConvert(program);
  registerSynth(program);
  registerEval(program);
  registerSam(program);
  registerTrain(program);
  registerPredict(program);
  registerTeach(program);
  registerPrepare(program);
  registerDemo(program);
  registerPretrain(program);
  addExamples(program);
}
