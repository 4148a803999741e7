import { Injectable } from '@nestjs/common';
import { EntityManager } from 'typeorm';
import { AuthorisationAt, AuthorisationService } from '../subprocessors/authorisation.service';
import type { ViolationReason } from './route-violation.entity';

export interface RouteToCheck {
  customerId: string;
  submittedAt: Date;
  route: string[];
}

export interface HopViolation {
  position: number;
  subprocessorId: string;
  reason: ViolationReason;
}

/** One answer of authorisedAt, indexed for checking many hops against it. */
interface Verdicts {
  dpa: boolean;
  authorised: Set<string>;
  withheld: Map<string, ViolationReason>;
}

/**
 * Checks message routes against the customer's authorised sub-processors at submitted-at, the rule
 * of AuthorisationService.authorisedAt. A hop breaks it when the sub-processor is unknown, the
 * customer had no DPA in force, the customer objected to it, had not approved it (specific
 * authorisation), its transfer mechanism is not one the DPA allows, or it was otherwise not
 * authorised (not active then, or not carrying the customer's traffic).
 */
@Injectable()
export class RouteChecker {
  constructor(private readonly authorisation: AuthorisationService) {}

  /** For each route, its violating hops (empty when every hop was authorised). */
  async check(em: EntityManager, routes: RouteToCheck[]): Promise<HopViolation[][]> {
    if (!routes.length) return [];
    const ids = new Set<string>();
    for (const r of routes) for (const id of r.route) ids.add(id);
    const known = new Set(((await em.query('SELECT id FROM subprocessors WHERE id = ANY($1::uuid[])', [[...ids]])) as { id: string }[]).map((r) => r.id));
    const answers = await this.authorisation.authorisedAtMany(em, routes.map((r) => ({ customerId: r.customerId, at: r.submittedAt })));
    const indexed = new Map<AuthorisationAt, Verdicts>();
    return routes.map((r, i) => {
      let verdicts = indexed.get(answers[i]);
      if (!verdicts) {
        verdicts = index(answers[i]);
        indexed.set(answers[i], verdicts);
      }
      const out: HopViolation[] = [];
      r.route.forEach((subprocessorId, position) => {
        const reason = hopReason(verdicts, known, subprocessorId);
        if (reason) out.push({ position, subprocessorId, reason });
      });
      return out;
    });
  }
}

function index(answer: AuthorisationAt): Verdicts {
  return {
    dpa: answer.dpa !== null,
    authorised: new Set(answer.authorised.map((s) => s.id)),
    withheld: new Map(answer.withheld.map((w) => [w.subprocessor.id, w.reason])),
  };
}

/** Why one hop breaks the rule, most specific reason first; null when it was authorised. */
function hopReason(v: Verdicts, known: Set<string>, subprocessorId: string): ViolationReason | null {
  if (!known.has(subprocessorId)) return 'unknown_subprocessor';
  if (!v.dpa) return 'no_dpa';
  if (v.authorised.has(subprocessorId)) return null;
  return v.withheld.get(subprocessorId) ?? 'not_authorised';
}

/** The same verdict for one hop from one authorisedAt answer: what the batch check must agree with. */
export function hopVerdict(answer: AuthorisationAt, known: Set<string>, subprocessorId: string): ViolationReason | null {
  return hopReason(index(answer), known, subprocessorId);
}
