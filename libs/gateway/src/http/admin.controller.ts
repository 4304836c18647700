import { Body, Controller, HttpCode, Param, Post, UseGuards } from '@nestjs/common';
import { csvRecordRows, CsvSyntaxError } from '@upm/contracts';
import { AdminTokenGuard, ApiError, JsonBodyGuard, ValidationDetail } from '@upm/shared-runtime';
import { ImportResult, ImportRow, RegistryService } from '../registry/registry.service';
import { importRow, merchantBody, parse, storeBody, terminalBody } from './schemas';

const IMPORT_COLUMNS = ['merchantId', 'merchantName', 'merchantMcc', 'storeId', 'storeName', 'storeMcc', 'terminalId'];

/** Onboarding. A terminal's key is in the answer that creates or rotates it, and nowhere else. */
@Controller('v1/admin')
@UseGuards(AdminTokenGuard)
export class AdminController {
  constructor(private readonly registry: RegistryService) {}

  @Post('merchants')
  @UseGuards(JsonBodyGuard)
  async createMerchant(@Body() raw: unknown) {
    const merchant = await this.registry.createMerchant(parse(merchantBody, raw));
    return { merchantId: merchant.id, name: merchant.name, mcc: merchant.mcc };
  }

  @Post('merchants/:merchantId/stores')
  @UseGuards(JsonBodyGuard)
  async createStore(@Param('merchantId') merchantId: string, @Body() raw: unknown) {
    const store = await this.registry.createStore(merchantId, parse(storeBody, raw));
    return { storeId: store.id, merchantId: store.merchantId, name: store.name, mcc: store.mcc };
  }

  @Post('stores/:storeId/terminals')
  @UseGuards(JsonBodyGuard)
  async createTerminal(@Param('storeId') storeId: string, @Body() raw: unknown) {
    const { terminal, key } = await this.registry.createTerminal(storeId, parse(terminalBody, raw));
    return { terminalId: terminal.id, storeId: terminal.storeId, merchantId: terminal.merchantId, key };
  }

  @Post('terminals/:terminalId/rotate-key')
  @HttpCode(200)
  async rotate(@Param('terminalId') terminalId: string) {
    return { terminalId, key: await this.registry.rotateKey(terminalId) };
  }

  @Post('terminals/:terminalId/revoke')
  @HttpCode(200)
  async revoke(@Param('terminalId') terminalId: string) {
    await this.registry.revoke(terminalId);
    return { terminalId, status: 'REVOKED' };
  }

  /** `text/csv` with the header `merchantId,merchantName,merchantMcc,storeId,storeName,storeMcc,terminalId`; all or nothing. */
  @Post('import')
  @HttpCode(200)
  async import(@Body() csv: unknown): Promise<ImportResult> {
    if (typeof csv !== 'string' || !csv.trim()) throw new ApiError(415, 'CSV_REQUIRED', 'send the rows as text/csv');
    let parsed: ReturnType<typeof csvRecordRows>;
    try {
      parsed = csvRecordRows(csv);
    } catch (error) {
      if (!(error instanceof CsvSyntaxError)) throw error;
      throw new ApiError(400, 'MALFORMED_CSV', error.message, [{ line: error.line, field: '(row)', code: error.code, message: error.message }]);
    }
    const missing = IMPORT_COLUMNS.filter((c) => !parsed.header.includes(c));
    if (missing.length) throw new ApiError(400, 'MALFORMED_CSV', `missing columns: ${missing.join(', ')}`);
    // which of two columns of one name a row's value came from would be anyone's guess
    const twice = IMPORT_COLUMNS.filter((c) => parsed.header.indexOf(c) !== parsed.header.lastIndexOf(c));
    if (twice.length) throw new ApiError(400, 'MALFORMED_CSV', `columns named twice: ${twice.join(', ')}`);
    // each row is checked as any request is, its problems told with the file line the row starts on
    const problems: Array<{ line: number } & ValidationDetail> = [];
    const firstSeen = new FirstSeen();
    const rows = parsed.rows.flatMap(({ line, values, fieldCount }) => {
      if (fieldCount > parsed.header.length) {
        // the fields past the header's would be dropped unseen, and the others are likely shifted by an unquoted comma
        problems.push({ line, field: '(row)', code: 'TOO_MANY_FIELDS', message: `${fieldCount} fields where the header names ${parsed.header.length}: quote a field that holds a comma` });
        return [];
      }
      try {
        const row = parse(importRow, values);
        problems.push(...firstSeen.conflicts(line, row));
        return [row];
      } catch (error) {
        if (!(error instanceof ApiError)) throw error;
        problems.push(...(error.details as ValidationDetail[]).map((detail) => ({ line, ...detail })));
        return [];
      }
    });
    if (problems.length) throw new ApiError(400, 'VALIDATION_FAILED', `${problems.length} problems; nothing was imported`, problems.slice(0, 100));
    return this.registry.importRows(rows);
  }
}

/**
 * What a file says of each merchant and store the first time it names it, so that a row saying otherwise is refused
 * rather than one of the two taken at random (a merchant's MCC goes to Alipay with every payment).
 */
class FirstSeen {
  private readonly seen = new Map<string, { line: number; value: string }>();

  conflicts(line: number, row: ImportRow): Array<{ line: number } & ValidationDetail> {
    const facts: Array<[field: keyof ImportRow, owner: string, id: string]> = [
      ['merchantName', 'merchant', row.merchantId], ['merchantMcc', 'merchant', row.merchantId],
      ['storeName', 'store', row.storeId], ['storeMcc', 'store', row.storeId],
    ];
    return facts.flatMap(([field, owner, id]) => {
      const key = `${field}:${id}`; // ids hold no colon
      const first = this.seen.get(key);
      if (!first) {
        this.seen.set(key, { line, value: row[field] });
        return [];
      }
      if (first.value === row[field]) return [];
      return [{ line, field, code: 'CONFLICTING_VALUE', message: `${owner} ${id} has another ${field} on line ${first.line}` }];
    });
  }
}
