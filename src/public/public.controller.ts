import { Controller, Get, Header } from '@nestjs/common';
import { ApiProduces, ApiTags } from '@nestjs/swagger';
import { Public } from '../access/access.decorators';
import { PublicSubprocessorList } from './dto/public-subprocessor.dto';
import { PublicRegistryService } from './public-registry.service';

/** Cacheable by anyone for a few minutes: the list changes rarely and holds nothing personal. */
const CACHE = 'public, max-age=300';

/** The public sub-processor list, no login: served outside /api/v1. */
@ApiTags('public')
@Controller('public')
export class PublicController {
  constructor(private readonly registry: PublicRegistryService) {}

  /** An accessible HTML page: the active sub-processors and the announced changes. */
  @Get('subprocessors')
  @Public()
  @ApiProduces('text/html')
  @Header('Content-Type', 'text/html; charset=utf-8')
  @Header('Cache-Control', CACHE)
  page(): Promise<string> {
    return this.registry.page();
  }

  /** The same list as JSON; public fields only. */
  @Get('subprocessors.json')
  @Public()
  @Header('Cache-Control', CACHE)
  @Header('Access-Control-Allow-Origin', '*')
  @Header('Cross-Origin-Resource-Policy', 'cross-origin')
  json(): Promise<PublicSubprocessorList> {
    return this.registry.json();
  }

  /** An Atom 1.0 feed with one entry per change notice (not withdrawn). */
  @Get('subprocessors/feed.atom')
  @Public()
  @ApiProduces('application/atom+xml')
  @Header('Content-Type', 'application/atom+xml; charset=utf-8')
  @Header('Cache-Control', CACHE)
  @Header('Access-Control-Allow-Origin', '*')
  @Header('Cross-Origin-Resource-Policy', 'cross-origin')
  feed(): Promise<string> {
    return this.registry.feed();
  }
}
