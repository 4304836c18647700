import { Controller, HttpCode, Inject, Post, Req, Res } from '@nestjs/common';
import type { RawBodyRequest } from '@nestjs/common';
import type { Request, Response } from 'express';
import { CONNECTOR_OPTIONS, ConnectorOptions } from './connector.options';
import { NotificationIntake } from './notification-intake';

/** notifyPayment / notifyRefund from Alipay, verified over the exact bytes received (NotificationIntake). */
@Controller()
export class NotifyController {
  constructor(
    @Inject(NotificationIntake) private readonly intake: NotificationIntake,
    @Inject(CONNECTOR_OPTIONS) private readonly options: ConnectorOptions,
  ) {}

  @Post('alipay/notify')
  @HttpCode(200)
  async notify(@Req() req: RawBodyRequest<Request>, @Res() res: Response): Promise<void> {
    const { answer } = await this.intake.receive({ path: this.options.notifyPath, headers: req.headers, rawBody: req.rawBody ?? Buffer.alloc(0) }, { from: 'alipay' });
    res.set(answer.headers).status(answer.status).type('application/json').send(answer.body);
  }
}
