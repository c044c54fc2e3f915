// `wish budget`: the paper's fixed-budget protocol (section 5.3). A command group: `plan` lists the
// label mixes along one pair of kinds; other subcommands (e.g. `run`) attach to the same group.
import { Command, Option } from 'commander';
import { PAPER_BUDGET, parseCosts, parsePair, planPair } from '../../data/weak/budget.ts';
import { formatTable } from '../../data/weak/table.ts';

function int(name: string) {
  return (v: string) => {
    const n = Number(v);
    if (!Number.isInteger(n)) throw new Error(`${name} must be an integer, got "${v}"`);
    return n;
  };
}

/** The `budget` command group, created on first use: `budget run` and others attach here. */
export function budgetGroup(program: Command): Command {
  return (
    program.commands.find((c) => c.name() === 'budget') ??
    program.command('budget').description('annotation-budget protocol (paper section 5.3, Table 3)')
  );
}

export function register(program: Command): Command {
  const budget = budgetGroup(program);
  budget
    .command('plan')
    .description('list K label mixes between two kinds under a fixed budget (the rows of Table 3)')
    .option('--budget <zeta>', 'total budget in cost units', int('--budget'), PAPER_BUDGET)
    .option('--costs <t,p,b>', 'cost of a tag, point and box image', '1,6,12')
    .addOption(
      new Option('--pair <pair>', 'the two kinds to mix')
        .choices(['tag-point', 'tag-box', 'point-box'])
        .default('tag-point'),
    )
    .option('--steps <K>', 'number of mixes, endpoints included', int('--steps'), 5)
    .option(
      '--grain <units>',
      'budget moves between the kinds in steps of this many units (default: point cost)',
      Number,
    )
    .option('--within-budget', "endpoints use floor(zeta/cost) instead of the paper's round(zeta/cost)")
    .option('--json', 'also print the rows as one JSON array on the last line')
    .action(
      (o: {
        budget: number;
        costs: string;
        pair: string;
        steps: number;
        grain?: number;
        withinBudget?: boolean;
        json?: boolean;
      }) => {
        const costs = parseCosts(o.costs);
        const rows = planPair(o.budget, costs, parsePair(o.pair), o.steps, {
          grain: o.grain,
          endpoints: o.withinBudget ? 'floor' : 'round',
        });
        console.log(
          `budget ${o.budget.toLocaleString('en-US')}, costs tag:point:box = ${costs.tag}:${costs.point}:${costs.box}, pair ${o.pair}`,
        );
        console.log(
          formatTable(
            ['step', 'tag', 'point', 'box', 'cost', 'left'],
            rows.map((r, i) => [i, r.tag, r.point, r.box, r.cost, o.budget - r.cost]),
          ),
        );
        if (rows.some((r) => r.cost > o.budget))
          console.log(
            '(negative "left": an endpoint rounds zeta/cost to the nearest image, as the paper does; --within-budget floors it)',
          );
        if (o.json) console.log(JSON.stringify(rows));
      },
    );
  return budget;
}
