/* liburcu (memb flavour) as qvm uses it: every thread that reads the
 * physical map registers once with rcu_thread_online(). */
#ifndef QVM_RCU_H
#define QVM_RCU_H

#include <urcu/urcu-memb.h>

void rcu_thread_online(void);  /* idempotent per thread */
void rcu_thread_offline(void); /* before a registered thread exits */

#endif
