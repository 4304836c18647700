import { Inject, Injectable } from '@nestjs/common';
import { DataSource, EntityManager } from 'typeorm';
import { newId } from '@upm/contracts';
import { prepared } from '@upm/shared-database';
import { ApiError, isId } from '@upm/shared-runtime';
import { MerchantRow, StoreRow, TerminalRow } from './registry.entities';
import { IssuedKey, issueTerminalKey, parseTerminalKey, secretMatches } from './terminal-keys';

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

  /**
   * Bulk onboarding in one transaction: creates what is missing, keeps what exists, answers the new keys. Another
   * onboarding may be writing the same stores or terminals meanwhile: each insert waits for it and keeps its rows, and
   * only then are the owners read, so what the other one committed is checked as if it had been there before.
   */
  async importRows(rows: ImportRow[]): Promise<ImportResult> {
    assertOneOwner(rows, (r) => r.storeId, (r) => r.merchantId, storesMoved);
    assertOneOwner(rows, (r) => r.terminalId, (r) => r.storeId, terminalsMoved);
    return this.dataSource.transaction(async (manager) => {
      // rows are written in id order, so two imports of overlapping files wait for each other rather than deadlock
      const merchants = inIdOrder(uniqueBy(rows, (r) => r.merchantId).map((r) => ({ id: r.merchantId, name: r.merchantName, mcc: r.merchantMcc })));
      const merchantsCreated = await insertMissing(manager, MerchantRow, merchants);
      const stores = inIdOrder(uniqueBy(rows, (r) => r.storeId).map((r) => ({ id: r.storeId, merchantId: r.merchantId, name: r.storeName, mcc: r.storeMcc })));
      const storesCreated = await insertMissing(manager, StoreRow, stores);
      await assertOwners(manager, 'stores', 'merchant_id', new Map(stores.map((s) => [s.id, s.merchantId])), storesMoved);
      const wanted = uniqueBy(rows, (r) => r.terminalId);
      const known = await ownersOf(manager, 'terminals', 'store_id', wanted.map((r) => r.terminalId)); // those need no key
      const fresh = wanted.filter((r) => !known.has(r.terminalId)).map((r) => ({ id: r.terminalId, storeId: r.storeId, key: issueTerminalKey() }));
      const created = await insertMissingTerminals(manager, fresh);
      await assertOwners(manager, 'terminals', 'store_id', new Map(wanted.filter((r) => !created.has(r.terminalId)).map((r) => [r.terminalId, r.storeId])), terminalsMoved);
      const terminals = fresh.filter((t) => created.has(t.id)).map((t) => ({ terminalId: t.id, storeId: t.storeId, key: t.key.key }));
      return { merchantsCreated, storesCreated, terminalsCreated: terminals.length, terminals };
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

const inIdOrder = <T extends { id: string }>(items: T[]): T[] => items.sort((a, b) => (a.id < b.id ? -1 : a.id > b.id ? 1 : 0));

/**
 * Inserts the terminals that do not exist, each with the merchant of its store as stored (never one a file names),
 * and answers the ids it created. The rows go as arrays: a chain of tens of thousands of terminals is more than a
 * statement takes parameters.
 */
async function insertMissingTerminals(manager: EntityManager, terminals: Array<{ id: string; storeId: string; key: IssuedKey }>): Promise<Set<string>> {
  const rows: Array<{ id: string }> = await manager.query(
    `INSERT INTO terminals (id, store_id, merchant_id, key_id, key_hash)
     SELECT t.id, t.store_id, s.merchant_id, t.key_id, t.key_hash
       FROM unnest($1::text[], $2::text[], $3::text[], $4::text[]) AS t (id, store_id, key_id, key_hash) JOIN stores s ON s.id = t.store_id
      ORDER BY t.id
     ON CONFLICT (id) DO NOTHING RETURNING id`,
    [terminals.map((t) => t.id), terminals.map((t) => t.storeId), terminals.map((t) => t.key.keyId), terminals.map((t) => t.key.keyHash)],
  );
  return new Set(rows.map((row) => row.id));
}

/** An import may not move a store to another merchant, nor a terminal to another store: `owners` is what the file says. */
async function assertOwners(manager: EntityManager, table: 'terminals' | 'stores', owner: 'store_id' | 'merchant_id', owners: Map<string, string>, moved: (ids: string[]) => ApiError): Promise<void> {
  const stored = await ownersOf(manager, table, owner, [...owners.keys()]);
  const elsewhere = [...stored].filter(([id, storedOwner]) => owners.get(id) !== storedOwner).map(([id]) => id);
  if (elsewhere.length) throw moved(elsewhere);
}

/**
 * The owner (store of a terminal, merchant of a store) of each of these ids that exists. The ids go as one
 * array parameter: a chain of tens of thousands of terminals is more than a statement takes parameters.
 */
async function ownersOf(manager: EntityManager, table: 'terminals' | 'stores', owner: 'store_id' | 'merchant_id', ids: string[]): Promise<Map<string, string>> {
  const rows: Array<{ id: string; owner: string }> = await manager.query(`SELECT id, ${owner} AS owner FROM ${table} WHERE id = ANY($1::text[])`, [ids]);
  return new Map(rows.map((row) => [row.id, row.owner]));
}
