/*
 * libswoole: the Swoole networking engine as a C library. This umbrella header includes
 * every module header; including a module header alone is also fine.
 */
#ifndef SWOOLE_H
#define SWOOLE_H

#include "swoole/common.h"
#include "swoole/version.h"
#include "swoole/error.h"
#include "swoole/log.h"
#include "swoole/buffer.h"
#include "swoole/protocol.h"
#include "swoole/loop.h"
#include "swoole/timer.h"
#include "swoole/shm.h"
#include "swoole/lock.h"
#include "swoole/process.h"
#include "swoole/atomic.h"
#include "swoole/channel.h"
#include "swoole/table.h"
#include "swoole/http.h"
#include "swoole/websocket.h"
#include "swoole/server.h"
#include "swoole/http_server.h"
#include "swoole/websocket_server.h"

#endif
