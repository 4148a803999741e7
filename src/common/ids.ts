const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;

/** Ids that are not UUIDs can match no row; checking first keeps them away from SQL casts. */
export const isUuid = (v: unknown): v is string => typeof v === 'string' && UUID.test(v);
