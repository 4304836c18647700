import { AdminTokenGuard, JsonBodyGuard, parseRequest } from '@upm/shared-runtime';
import { Body, Controller, Delete, Get, HttpCode, Param, Patch, Post, Query, UseGuards } from '@nestjs/common';
import { WebhookEndpointsService } from '../webhooks/webhook-endpoints.service';
import { WebhookWorker } from '../webhooks/webhook.worker';
import { createEndpointBody, deliveriesQuery, merchantIdParam, redeliverDeadLettersBody, rotateSecretBody, updateEndpointBody } from './webhooks-admin.schemas';

/** The merchant of the path, refused with 400 on every route when no merchant can have that id (PostgreSQL would refuse a NUL in it). */
const merchant = (merchantId: string) => parseRequest(merchantIdParam, merchantId);

/** Merchants' webhook endpoints, their secrets, the delivery log and re-delivery (docs/webhooks.md). */
@Controller('v1/admin/merchants/:merchantId/webhooks')
@UseGuards(AdminTokenGuard, JsonBodyGuard)
export class WebhooksAdminController {
  constructor(
    private readonly endpoints: WebhookEndpointsService,
    private readonly worker: WebhookWorker,
  ) {}

  /** The answer holds the signing secret, shown this once. */
  @Post()
  create(@Param('merchantId') merchantId: string, @Body() raw: unknown) {
    return this.endpoints.create(merchant(merchantId), parseRequest(createEndpointBody, raw));
  }

  @Get()
  async list(@Param('merchantId') merchantId: string) {
    return { endpoints: await this.endpoints.list(merchant(merchantId)) };
  }

  @Get(':endpointId')
  get(@Param('merchantId') merchantId: string, @Param('endpointId') endpointId: string) {
    return this.endpoints.get(merchant(merchantId), endpointId);
  }

  /** Changes the URL, the event types or the description, or disables or enables the endpoint; the secret stays. */
  @Patch(':endpointId')
  async update(@Param('merchantId') merchantId: string, @Param('endpointId') endpointId: string, @Body() raw: unknown) {
    const endpoint = await this.endpoints.update(merchant(merchantId), endpointId, parseRequest(updateEndpointBody, raw));
    // an endpoint enabled again has deliveries that waited for it
    this.worker.wake();
    return endpoint;
  }

  @Delete(':endpointId')
  @HttpCode(204)
  async delete(@Param('merchantId') merchantId: string, @Param('endpointId') endpointId: string): Promise<void> {
    await this.endpoints.delete(merchant(merchantId), endpointId);
  }

  @Post(':endpointId/rotate-secret')
  @HttpCode(200)
  rotate(@Param('merchantId') merchantId: string, @Param('endpointId') endpointId: string, @Body() raw: unknown) {
    return this.endpoints.rotateSecret(merchant(merchantId), endpointId, parseRequest(rotateSecretBody, raw).overlapSeconds);
  }

  @Get(':endpointId/deliveries')
  async deliveries(@Param('merchantId') merchantId: string, @Param('endpointId') endpointId: string, @Query() rawQuery: unknown) {
    return { deliveries: await this.endpoints.deliveries(merchant(merchantId), endpointId, parseRequest(deliveriesQuery, rawQuery)) };
  }

  /** Sends every dead-lettered delivery of the endpoint (of one payment, or since a time) again, as re-delivery does one. */
  @Post(':endpointId/deliveries/redeliver')
  @HttpCode(202)
  async redeliverDeadLetters(@Param('merchantId') merchantId: string, @Param('endpointId') endpointId: string, @Body() raw: unknown) {
    const redelivered = await this.endpoints.redeliverDeadLetters(merchant(merchantId), endpointId, parseRequest(redeliverDeadLettersBody, raw));
    this.worker.wake();
    return { redelivered };
  }

  @Get(':endpointId/deliveries/:deliveryId')
  delivery(@Param('merchantId') merchantId: string, @Param('endpointId') endpointId: string, @Param('deliveryId') deliveryId: string) {
    return this.endpoints.delivery(merchant(merchantId), endpointId, deliveryId);
  }

  @Post(':endpointId/deliveries/:deliveryId/redeliver')
  @HttpCode(202)
  async redeliver(@Param('merchantId') merchantId: string, @Param('endpointId') endpointId: string, @Param('deliveryId') deliveryId: string) {
    const delivery = await this.endpoints.redeliver(merchant(merchantId), endpointId, deliveryId);
    this.worker.wake();
    return delivery;
  }
}
