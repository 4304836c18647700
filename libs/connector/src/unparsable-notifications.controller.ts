import { Controller, Get, HttpCode, Inject, Param, Post, Query, UseGuards } from '@nestjs/common';
import { AdminTokenGuard, JsonBodyGuard, parseRequest } from '@upm/shared-runtime';
import { listQuery, UnparsableNotifications } from './unparsable-notifications';

/** The signed notifications the connector could not read, for operators (docs/runbooks/unread-notifications.md). */
@Controller('v1/admin/unparsable-notifications')
@UseGuards(AdminTokenGuard, JsonBodyGuard)
export class UnparsableNotificationsController {
  constructor(@Inject(UnparsableNotifications) private readonly notifications: UnparsableNotifications) {}

  @Get()
  async list(@Query() rawQuery: unknown) {
    return { notifications: await this.notifications.list(parseRequest(listQuery, rawQuery)) };
  }

  @Post(':id/replay')
  @HttpCode(200)
  replay(@Param('id') id: string) {
    return this.notifications.replay(id);
  }
}
