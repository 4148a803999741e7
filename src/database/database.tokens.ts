/** Injection token for the URL of the database the app runs on (DATABASE_URL or the embedded one). */
export const DATABASE_URL = Symbol('DATABASE_URL');
