// One example per command, shown at the end of its --help. Kept in one table so every command has one
// (test/cli/help.test.ts checks that).
import type { Command } from 'commander';

export const EXAMPLES: Record<string, string> = {
  pretrain: 'wish pretrain --model cpu-small --out models/backbone/cpu-small.safetensors --threads 1',
  synth: 'wish synth --out data/synth --images 500 --size 128 --seed 0',
  weaken:
    'wish weaken --in data/synth/annotations.json --out data/synth/weak.json \\\n' +
    '    --budget 3000 --costs 1,6,12 --mix tag=0.5,box=0.5 --seed 0',
  'budget plan': 'wish budget plan --budget 10582 --costs 1,6,12 --pair tag-box --steps 5',
  'budget run':
    'wish budget run --data data/synth/annotations.json --val-data data/synth-val/annotations.json \\\n' +
    '    --config configs/cpu-small.json --sam models/teacher/teacher.safetensors \\\n' +
    '    --sam-config models/teacher/teacher.json --budget 300 --pairs tag-box --steps 3 --out runs/budget',
  'convert voc':
    'wish convert voc --voc VOCdevkit --sbd benchmark_RELEASE --split train_aug --out data/voc/train_aug.json',
  'convert coco':
    'wish convert coco --annotations annotations/instances_val2017.json --images val2017 --out data/coco/val.json',
  eval: 'wish eval --gt data/val.json --results runs/cpu-small/results.json --iou-type segm --json',
  'sam predict':
    'wish sam predict --checkpoint sam_vit_b_01ec64.pth --image photo.jpg --points "120,88,1" --multimask --out out/sam',
  'sam embed': 'wish sam embed --checkpoint sam_vit_b_01ec64.pth --images data/images --out data/embeddings',
  train:
    'wish train --config configs/cpu-small.json --out runs/cpu-small\n  wish train --config configs/cpu-small.json --out runs/cpu-small --resume',
  prepare:
    'wish prepare --data data/weak.json --images data --sam models/teacher/teacher.safetensors \\\n' +
    '    --sam-config models/teacher/teacher.json --out data/prepared',
  'teach train':
    'wish teach train --out runs/teacher --steps 1000 --threads 1\n' +
    '  wish teach train --out runs/teacher --steps 1000 --threads 1 --resume',
  'teach eval':
    'wish teach eval --checkpoint models/teacher/teacher.safetensors --config models/teacher/teacher.json',
  demo: 'wish demo --out runs/demo --seed 0 --json',
  predict:
    'wish predict --checkpoint runs/cpu-small/checkpoint.safetensors --images data/test --out out/predict',
};

/** Adds the table's example to every command in it (keys are command paths, e.g. 'budget plan'). */
export function addExamples(program: Command, prefix = ''): void {
  for (const cmd of program.commands) {
    const path = prefix ? `${prefix} ${cmd.name()}` : cmd.name();
    const example = EXAMPLES[path];
    if (example) {
      cmd.addHelpText('after', `\nExample:\n  ${example}`);
    }
    addExamples(cmd, path);
  }
}
