import { Column, Entity, PrimaryColumn } from 'typeorm';

/** Login attempts per account (hashed e-mail) or client address, within a window. */
@Entity({ name: 'login_throttle' })
export class LoginThrottle {
  @PrimaryColumn({ type: 'text' })
  key: string;

  @Column({ type: 'integer' })
  attempts: number;

  @Column({ name: 'window_started_at', type: 'timestamptz' })
  windowStartedAt: Date;
}
