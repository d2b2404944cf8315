import { parse } from 'libpg-query';

/**
 * The migration linter's rules, over the SQL a migration really sends (captured by running it on a scratch
 * database: src/cli/lint-migrations.ts), parsed by PostgreSQL's own parser. A migration runs while the
 * previous release still serves, and that release must keep working if the deploy is rolled back: each rule
 * is a statement that breaks the old code or locks a live table. Tables the migration creates itself are new,
 * so nothing old reads them and nobody waits on their locks.
 */
export const RULES = {
  'drop-table': 'drops a table the previous release may still read',
  'drop-column': 'drops a column the previous release may still read or write',
  'rename-table': 'renames a table: the previous release still uses the old name',
  'rename-column': 'renames a column: the previous release still uses the old name',
  'change-column-type':
    'changes a column type: rewrites the table under an exclusive lock, and old code may break',
  'not-null-without-default':
    'adds a NOT NULL column without a default: inserts by the previous release fail (and it fails on a table with rows)',
  'set-not-null':
    'makes a column NOT NULL: inserts by the previous release without it fail, and it scans the table under an exclusive lock',
  'index-not-concurrent':
    'creates an index without CONCURRENTLY: writes to the table wait until the index is built',
  'concurrent-index-in-transaction':
    'CREATE INDEX CONCURRENTLY cannot run in a transaction: export config = { transaction: false }',
  'missing-lock-timeout':
    'locks an existing table without a lock_timeout first: behind a long query it queues every request on that table',
  'dynamic-sql': 'runs SQL the linter cannot read (a DO block): review it by hand',
} as const;

export type Rule = keyof typeof RULES;

export interface Finding {
  rule: Rule;
  /** What the statement does, naming the table and column. */
  detail: string;
}

/** A reviewed contract step: the hazards someone checked and accepted, and why. */
export interface ContractMark {
  reviewed: string;
  allows: Rule[];
}

export interface MigrationVerdict {
  findings: Finding[];
  /** Findings the migration's contract mark accepts. */
  accepted: Finding[];
  /** Problems with the mark itself (no reason, unknown rule, a rule it allows but never needs). */
  markProblems: string[];
}

type Node = Record<string, unknown>;
interface RangeVar {
  relname: string;
  schemaname?: string;
}

const isNode = (value: unknown): value is Node => typeof value === 'object' && value !== null;
const nameOf = (relation: RangeVar | undefined) => relation?.relname ?? '?';
const constraintsOf = (def: Node | undefined) =>
  ((def?.constraints as Node[] | undefined) ?? []).map((c) => (c.Constraint ?? {}) as Node);

/** The value of a SET statement, as text; 0 (no timeout) when PostgreSQL's default would apply. */
function settingValue(args: unknown): string {
  const constant = (Array.isArray(args) && isNode(args[0]) ? args[0].A_Const : undefined) as Node | undefined;
  const text = (constant?.sval as Node | undefined)?.sval;
  const integer = (constant?.ival as Node | undefined)?.ival;
  return String(text ?? integer ?? 0);
}

/** Every table a foreign key in this node references. */
function referencedTables(node: unknown): string[] {
  if (Array.isArray(node)) return node.flatMap(referencedTables);
  if (!isNode(node)) return [];
  const own =
    node.contype === 'CONSTR_FOREIGN' && isNode(node.pktable)
      ? [nameOf(node.pktable as unknown as RangeVar)]
      : [];
  return [...own, ...Object.values(node).flatMap(referencedTables)];
}

/**
 * The findings of one migration's statements, in order. `transaction` is whether knex wraps it in one (the
 * default; a migration exporting config = { transaction: false } runs without).
 */
export async function lintStatements(statements: string[], transaction: boolean): Promise<Finding[]> {
  const findings: Finding[] = [];
  const created = new Set<string>();
  let lockTimeout = false;
  let lockFlagged = false;
  const isExisting = (table: string) => !created.has(table);
  const locks = (table: string, what: string) => {
    if (!isExisting(table) || lockTimeout || lockFlagged) return;
    lockFlagged = true;
    findings.push({ rule: 'missing-lock-timeout', detail: `${what} without a lock_timeout set before it` });
  };

  for (const sql of statements) {
    const parsed = await parse(sql);
    for (const { stmt } of parsed.stmts as { stmt: Node }[]) {
      const [kind, body] = Object.entries(stmt)[0] as [string, Node];
      if (kind === 'VariableSetStmt' && body.name === 'lock_timeout') {
        lockTimeout = body.kind === 'VAR_SET_VALUE' && !/^0+(ms|s|min)?$/.test(settingValue(body.args));
      } else if (kind === 'CreateStmt') {
        const table = nameOf(body.relation as RangeVar);
        created.add(table);
        for (const other of referencedTables(body.tableElts).filter(isExisting)) {
          locks(other, `creates ${table} with a foreign key to ${other}`);
        }
      } else if (kind === 'DropStmt' && body.removeType === 'OBJECT_TABLE') {
        for (const object of (body.objects as Node[]) ?? []) {
          const names = ((object.List as Node | undefined)?.items as Node[] | undefined) ?? [];
          const table = String((names.at(-1)?.String as Node | undefined)?.sval ?? '?');
          if (isExisting(table)) findings.push({ rule: 'drop-table', detail: `drops table ${table}` });
        }
      } else if (kind === 'RenameStmt') {
        const table = nameOf(body.relation as RangeVar);
        if (body.renameType === 'OBJECT_TABLE' && isExisting(table)) {
          findings.push({
            rule: 'rename-table',
            detail: `renames table ${table} to ${String(body.newname)}`,
          });
        } else if (body.renameType === 'OBJECT_COLUMN' && isExisting(table)) {
          findings.push({
            rule: 'rename-column',
            detail: `renames column ${table}.${String(body.subname)} to ${String(body.newname)}`,
          });
        }
      } else if (kind === 'AlterTableStmt') {
        const table = nameOf(body.relation as RangeVar);
        for (const other of referencedTables(body.cmds).filter(isExisting)) {
          locks(other, `adds a foreign key from ${table} to ${other}`);
        }
        if (!isExisting(table)) continue;
        locks(table, `alters ${table}`);
        for (const { AlterTableCmd: cmd } of (body.cmds as { AlterTableCmd: Node }[]) ?? []) {
          const column = `${table}.${String(cmd.name ?? '')}`;
          const def = (cmd.def as Node | undefined)?.ColumnDef as Node | undefined;
          switch (cmd.subtype) {
            case 'AT_DropColumn':
              findings.push({ rule: 'drop-column', detail: `drops column ${column}` });
              break;
            case 'AT_AlterColumnType':
              findings.push({ rule: 'change-column-type', detail: `changes the type of ${column}` });
              break;
            case 'AT_SetNotNull':
              findings.push({ rule: 'set-not-null', detail: `sets ${column} NOT NULL` });
              break;
            case 'AT_AddColumn': {
              const kinds = constraintsOf(def).map((c) => c.contype);
              if (kinds.includes('CONSTR_NOTNULL') && !kinds.includes('CONSTR_DEFAULT')) {
                findings.push({
                  rule: 'not-null-without-default',
                  detail: `adds ${table}.${String(def?.colname)} NOT NULL without a default`,
                });
              }
              break;
            }
          }
        }
      } else if (kind === 'IndexStmt') {
        const table = nameOf(body.relation as RangeVar);
        const index = String(body.idxname ?? '(unnamed)');
        if (body.concurrent && transaction) {
          findings.push({
            rule: 'concurrent-index-in-transaction',
            detail: `creates ${index} concurrently in a transaction`,
          });
        } else if (!body.concurrent && isExisting(table)) {
          findings.push({
            rule: 'index-not-concurrent',
            detail: `creates index ${index} on ${table} without CONCURRENTLY`,
          });
          locks(table, `creates index ${index} on ${table}`);
        }
      } else if (kind === 'DoStmt') {
        findings.push({ rule: 'dynamic-sql', detail: 'runs a DO block' });
      }
    }
  }
  return findings;
}

/** The `contract` export of a migration, checked: a reason of some substance and the rules it accepts. */
export function judge(findings: Finding[], contract: unknown): MigrationVerdict {
  if (contract === undefined) return { findings, accepted: [], markProblems: [] };
  const markProblems: string[] = [];
  const mark = (isNode(contract) ? contract : {}) as Partial<ContractMark>;
  if (typeof mark.reviewed !== 'string' || mark.reviewed.trim().length < 20) {
    markProblems.push(
      'contract.reviewed must say, in a sentence, why this step is safe for the previous release',
    );
  }
  const allows = Array.isArray(mark.allows) ? mark.allows : [];
  if (allows.length === 0)
    markProblems.push(`contract.allows must name the rules it accepts (${Object.keys(RULES).join(', ')})`);
  for (const rule of allows) {
    if (!(rule in RULES)) markProblems.push(`contract.allows names an unknown rule: ${String(rule)}`);
    else if (!findings.some((f) => f.rule === rule)) {
      markProblems.push(`contract.allows ${rule}, which the migration no longer does: remove it`);
    }
  }
  if (markProblems.length > 0) return { findings, accepted: [], markProblems };
  return {
    findings: findings.filter((f) => !allows.includes(f.rule)),
    accepted: findings.filter((f) => allows.includes(f.rule)),
    markProblems,
  };
}
