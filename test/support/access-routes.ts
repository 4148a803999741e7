import { type INestApplication, RequestMethod } from '@nestjs/common';
import { METHOD_METADATA, PATH_METADATA } from '@nestjs/common/constants';
import { DiscoveryService, MetadataScanner, ModulesContainer, Reflector } from '@nestjs/core';
import type { NestExpressApplication } from '@nestjs/platform-express';
import { ABILITY_KEY, PUBLIC_KEY, type RequiredAbility } from '../../src/access/access.decorators';
import { API_PREFIX } from '../../src/app.setup';

/*
 * The routes the real application registers: every Nest controller method, resolved to the path
 * Express serves it on (test/routes.e2e-spec.ts and the access matrix both walk them).
 */

export interface RegisteredRoute {
  route: string; // "GET /api/v1/users/:id"
  handler: string; // "UsersController.get"
  isPublic: boolean;
  ability: RequiredAbility | undefined;
}

interface ExpressLayer {
  route?: { path: string; methods: Record<string, boolean> };
}

/** Every route Express will dispatch to a single-method handler (middleware mounts are for all methods). */
export function expressRoutes(app: INestApplication): string[] {
  const express = (app as NestExpressApplication).getHttpAdapter().getInstance() as { router: { stack: ExpressLayer[] } };
  return express.router.stack.flatMap((layer) => {
    const methods = Object.keys(layer.route?.methods ?? {}).filter((m) => layer.route!.methods[m]);
    return layer.route && methods.length === 1 ? [`${methods[0].toUpperCase()} ${layer.route.path}`] : [];
  });
}

const segments = (p: unknown): string[] => {
  const first = Array.isArray(p) ? (p as unknown[])[0] : p;
  return typeof first === 'string' ? first.split('/').filter(Boolean) : [];
};

export function registeredRoutes(app: INestApplication): { routes: RegisteredRoute[]; unmatched: string[] } {
  const reflector = app.get(Reflector);
  const discovery = new DiscoveryService(app.get(ModulesContainer));
  const scanner = new MetadataScanner();
  const served = new Set(expressRoutes(app));
  const routes: RegisteredRoute[] = [];
  const unmatched: string[] = [];
  for (const wrapper of discovery.getControllers()) {
    const type = wrapper.metatype as (new (...args: never[]) => object) | null;
    if (!type) continue;
    for (const name of scanner.getAllMethodNames(type.prototype)) {
      const method = (type.prototype as Record<string, unknown>)[name] as (...args: unknown[]) => unknown;
      const path = Reflect.getMetadata(PATH_METADATA, method) as unknown;
      if (path === undefined) continue;
      const verb = RequestMethod[Reflect.getMetadata(METHOD_METADATA, method) as RequestMethod];
      const tail = [...segments(Reflect.getMetadata(PATH_METADATA, type)), ...segments(path)].join('/');
      const candidates = [`${verb} /${tail}`, `${verb} /${[API_PREFIX, tail].filter(Boolean).join('/')}`];
      const route = candidates.find((c) => served.has(c));
      if (!route) {
        unmatched.push(`${type.name}.${name}`);
        continue;
      }
      routes.push({
        route,
        handler: `${type.name}.${name}`,
        isPublic: reflector.getAllAndOverride<boolean>(PUBLIC_KEY, [method, type]) === true,
        ability: reflector.getAllAndOverride<RequiredAbility>(ABILITY_KEY, [method, type]),
      });
    }
  }
  return { routes, unmatched };
}
