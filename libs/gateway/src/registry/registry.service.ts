import { Inject, Injectable } from '@nestjs/common';
import { DataSource, EntityManager } from 'typeorm';
import { newId } from '@upm/contracts';
import { prepared } from '@upm/shared-database';
import { ApiError, isId } from '@upm/shared-runtime';
import { MerchantRow, StoreRow, TerminalRow } from './registry.entities';
import { issueTerminalKey, parseTerminalKey, secretMatches } from './terminal-keys';

/** Who is calling: a terminal, its store and its merchant. Everything a POS does is scoped to `merchantId`. */
export interface TerminalContext {
  terminalId: string;
  /** the public half of the key the terminal authenticated with */
  keyId: string;
  storeId: string;
  storeName: string;
  storeMcc: string;
  merchantId: string;
  merchantName: string;
  merchantMcc: string;
}

export interface MerchantInput { id?: string; name: string; mcc: string }
export interface StoreInput { id?: string; name: string; mcc: string }
export interface TerminalInput { id?: string }

/** Onboarding of merchants, stores and terminals, and terminal authentication. */
@Injectable()
export class RegistryService {
  constructor(@Inject(DataSource) private readonly dataSource: DataSource) {}

  async createMerchant(input: MerchantInput): Promise<MerchantRow> {
    const row = this.dataSource.getRepository(MerchantRow).create({ id: input.id ?? newId('mer'), name: input.name, mcc: input.mcc });
    await this.insertOrConflict(() => this.dataSource.getRepository(MerchantRow).insert(row), 'MERCHANT_EXISTS', `merchant ${row.id} exists`);
    return row;
  }

  async createStore(merchantId: string, input: StoreInput): Promise<StoreRow> {
    if (!isId(merchantId) || !(await this.dataSource.getRepository(MerchantRow).existsBy({ id: merchantId }))) throw new ApiError(404, 'MERCHANT_NOT_FOUND', `no merchant ${merchantId}`);
    const row = this.dataSource.getRepository(StoreRow).create({ id: input.id ?? newId('sto'), merchantId, name: input.name, mcc: input.mcc });
    await this.insertOrConflict(() => this.dataSource.getRepository(StoreRow).insert(row), 'STORE_EXISTS', `store ${row.id} exists`);
    return row;
  }

  /** Creates a terminal and answers its key; the key is never shown again. */
  async createTerminal(storeId: string, input: TerminalInput): Promise<{ terminal: TerminalRow; key: string }> {
    const store = isId(storeId) ? await this.dataSource.getRepository(StoreRow).findOneBy({ id: storeId }) : null;
    if (!store) throw new ApiError(404, 'STORE_NOT_FOUND', `no store ${storeId}`);
    const issued = issueTerminalKey();
    const terminal = this.dataSource.getRepository(TerminalRow).create({
      id: input.id ?? newId('ter'), storeId, merchantId: store.merchantId, keyId: issued.keyId, keyHash: issued.keyHash, status: 'ACTIVE', keyRotatedAt: null,
    });
    await this.insertOrConflict(() => this.dataSource.getRepository(TerminalRow).insert(terminal), 'TERMINAL_EXISTS', `terminal ${terminal.id} exists`);
    return { terminal, key: issued.key };
  }

  /** Replaces a terminal's key: the old one stops working at once. */
  async rotateKey(terminalId: string): Promise<string> {
    if (!isId(terminalId)) throw new ApiError(404, 'TERMINAL_NOT_FOUND', `no active terminal ${terminalId}`);
    const issued = issueTerminalKey();
    const result = await this.dataSource.getRepository(TerminalRow).update(
      { id: terminalId, status: 'ACTIVE' },
      { keyId: issued.keyId, keyHash: issued.keyHash, keyRotatedAt: new Date() },
    );
    if (!result.affected) throw new ApiError(404, 'TERMINAL_NOT_FOUND', `no active terminal ${terminalId}`);
    return issued.key;
  }

  async revoke(terminalId: string): Promise<void> {
    if (!isId(terminalId)) throw new ApiError(404, 'TERMINAL_NOT_FOUND', `no terminal ${terminalId}`);
    const result = await this.dataSource.getRepository(TerminalRow).update({ id: terminalId }, { status: 'REVOKED' });
    if (!result.affected) throw new ApiError(404, 'TERMINAL_NOT_FOUND', `no terminal ${terminalId}`);
  }

  /** The terminal a key belongs to, or null for an unknown, revoked or wrong key. */
  async authenticate(key: string): Promise<TerminalContext | null> {
    const parsed = parseTerminalKey(key);
    if (!parsed) return null;
    const rows: Array<TerminalContext & { keyHash: string; status: string }> = await this.dataSource.query(
      prepared(`SELECT t.id AS "terminalId", t.key_id AS "keyId", t.key_hash AS "keyHash", t.status, s.id AS "storeId", s.name AS "storeName", s.mcc AS "storeMcc",
              m.id AS "merchantId", m.name AS "merchantName", m.mcc AS "merchantMcc"
         FROM terminals t JOIN stores s ON s.id = t.store_id JOIN merchants m ON m.id = t.merchant_id
        WHERE t.key_id = $1`),
      [parsed.keyId],
    );
    const row = rows[0];
    if (!row || row.status !== 'ACTIVE' || !secretMatches(parsed.secret, row.keyHash)) return null;
    const { keyHash: _hash, status: _status, ...context } = row;
    return context;
  }

  /**
   * The id of the key that opens each of these terminals now, for those still active: a key whose terminal is
   * missing from the answer, or whose id differs, was revoked or rotated away. One statement for any number.
   */
  async activeKeys(terminalIds: readonly string[]): Promise<Map<string, string>> {
    const rows: Array<{ id: string; key_id: string }> = await this.dataSource.query(
      prepared(`SELECT id, key_id FROM terminals WHERE id = ANY($1) AND status = 'ACTIVE'`),
      [terminalIds],
    );
    return new Map(rows.map((row) => [row.id, row.key_id]));
  }

  /** Bulk onboarding in one transaction: creates what is missing, keeps what exists, answers the new keys. */
  async importRows(rows: ImportRow[]): Promise<ImportResult> {
    return this.dataSource.transaction(async (manager) => {
      const result: ImportResult = { merchantsCreated: 0, storesCreated: 0, terminalsCreated: 0, terminals: [] };
      const merchants = uniqueBy(rows, (r) => r.merchantId).map((r) => ({ id: r.merchantId, name: r.merchantName, mcc: r.merchantMcc }));
      result.merchantsCreated = await insertMissing(manager, MerchantRow, merchants);
      const stores = uniqueBy(rows, (r) => r.storeId).map((r) => ({ id: r.storeId, merchantId: r.merchantId, name: r.storeName, mcc: r.storeMcc }));
      assertOneOwner(rows, (r) => r.storeId, (r) => r.merchantId, storesMoved);
      await assertOwnership(manager, stores);
      result.storesCreated = await insertMissing(manager, StoreRow, stores);
      const wanted = uniqueBy(rows, (r) => r.terminalId);
      assertOneOwner(rows, (r) => r.terminalId, (r) => r.storeId, terminalsMoved);
      const existing = await existingTerminals(manager, wanted);
      const fresh = wanted.filter((r) => !existing.has(r.terminalId)).map((r) => {
        const issued = issueTerminalKey();
        result.terminals.push({ terminalId: r.terminalId, storeId: r.storeId, key: issued.key });
        return { id: r.terminalId, storeId: r.storeId, merchantId: r.merchantId, keyId: issued.keyId, keyHash: issued.keyHash, status: 'ACTIVE' as const, keyRotatedAt: null };
      });
      for (let i = 0; i < fresh.length; i += 1000) await manager.getRepository(TerminalRow).insert(fresh.slice(i, i + 1000));
      result.terminalsCreated = fresh.length;
      return result;
    });
  }

  private async insertOrConflict(insert: () => Promise<unknown>, code: string, message: string): Promise<void> {
    try {
      await insert();
    } catch (error) {
      if ((error as { code?: string }).code === '23505') throw new ApiError(409, code, message);
      throw error;
    }
  }
}

export interface ImportRow {
  merchantId: string; merchantName: string; merchantMcc: string;
  storeId: string; storeName: string; storeMcc: string;
  terminalId: string;
}

export interface ImportResult {
  merchantsCreated: number;
  storesCreated: number;
  terminalsCreated: number;
  terminals: Array<{ terminalId: string; storeId: string; key: string }>;
}

function uniqueBy<T>(items: T[], key: (item: T) => string): T[] {
  return [...new Map(items.map((item) => [key(item), item])).values()];
}

async function insertMissing<T extends { id: string }>(manager: EntityManager, entity: new () => T, rows: T[] | Array<Partial<T> & { id: string }>): Promise<number> {
  let created = 0;
  for (let i = 0; i < rows.length; i += 1000) {
    const result = await manager.createQueryBuilder().insert().into(entity).values(rows.slice(i, i + 1000) as never).orIgnore().returning('id').execute();
    created += result.raw?.length ?? 0;
  }
  return created;
}

/** What an import may not do: move a store to another merchant, or a terminal (its key, its payments) to another store. */
const storesMoved = (ids: string[]) => new ApiError(409, 'STORE_BELONGS_TO_ANOTHER_MERCHANT', 'a store cannot change merchant, nor appear under two', ids.map((storeId) => ({ storeId })));
const terminalsMoved = (ids: string[]) => new ApiError(409, 'TERMINAL_BELONGS_TO_ANOTHER_STORE', 'a terminal cannot change store, nor appear in two', ids.map((terminalId) => ({ terminalId })));

/** A file that puts one store under two merchants, or one terminal in two stores, is refused whole. */
function assertOneOwner(rows: readonly ImportRow[], idOf: (row: ImportRow) => string, ownerOf: (row: ImportRow) => string, moved: (ids: string[]) => ApiError): void {
  const owners = new Map<string, string>();
  const split = new Set<string>();
  for (const row of rows) {
    const owner = owners.get(idOf(row)) ?? ownerOf(row);
    owners.set(idOf(row), owner);
    if (owner !== ownerOf(row)) split.add(idOf(row));
  }
  if (split.size) throw moved([...split]);
}

/** The terminals of the file that exist, each in the store the file names: an import may not move one. */
async function existingTerminals(manager: EntityManager, wanted: readonly ImportRow[]): Promise<Set<string>> {
  const storeOf = new Map(wanted.map((r) => [r.terminalId, r.storeId]));
  const existing = await ownersOf(manager, 'terminals', 'store_id', [...storeOf.keys()]);
  const moved = [...existing].filter(([id, storeId]) => storeOf.get(id) !== storeId);
  if (moved.length) throw terminalsMoved(moved.map(([id]) => id));
  return new Set(existing.keys());
}

/** An import may not move a store that already belongs to another merchant. */
async function assertOwnership(manager: EntityManager, stores: Array<{ id: string; merchantId: string }>): Promise<void> {
  const owner = await ownersOf(manager, 'stores', 'merchant_id', stores.map((s) => s.id));
  const moved = stores.filter((s) => owner.has(s.id) && owner.get(s.id) !== s.merchantId);
  if (moved.length) throw storesMoved(moved.map((s) => s.id));
}

/**
 * The owner (store of a terminal, merchant of a store) of each of these ids that exists. The ids go as one
 * array parameter: a chain of tens of thousands of terminals is more than a statement takes parameters.
 */
async function ownersOf(manager: EntityManager, table: 'terminals' | 'stores', owner: 'store_id' | 'merchant_id', ids: string[]): Promise<Map<string, string>> {
  const rows: Array<{ id: string; owner: string }> = await manager.query(`SELECT id, ${owner} AS owner FROM ${table} WHERE id = ANY($1::text[])`, [ids]);
  return new Map(rows.map((row) => [row.id, row.owner]));
}
