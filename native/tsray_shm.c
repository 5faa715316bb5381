/*
 * tsray_shm: zero-copy POSIX shared memory for Node.js, written against plain
 * Node-API (node_api.h, ABI-stable, NAPI_VERSION 8).
 *
 * Exports (wrapped by src/shm/native-backend.ts; JS never calls these directly):
 *   createSegment(name, size, reserve) -> ArrayBuffer  shm_open(O_CREAT|O_EXCL) + ftruncate + mmap
 *   openSegment(name)                  -> ArrayBuffer  shm_open + fstat + mmap (read-write)
 *   unlinkSegment(name)                -> boolean      false when it did not exist (ENOENT)
 *   detach(arrayBuffer)                -> boolean      detaches: views go empty, munmap soon after
 *   setParentDeathSignal(sig, ppid)    -> boolean      prctl(PR_SET_PDEATHSIG); false off Linux
 *   pretouch(arrayBuffer, off, len)    -> Promise      faults pages in from a libuv pool thread
 *   pageSize                           number
 *
 * Each ArrayBuffer is an external one over the MAP_SHARED mapping; its finalizer
 * munmaps. Errors are JS Errors with `code` ("EEXIST"...), `errno` (negative, as in
 * node:fs), `syscall` and `path` (the segment name).
 */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE
#endif
#define NAPI_VERSION 8
#include <node_api.h>

#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <sys/statvfs.h>
#include <sys/types.h>
#include <unistd.h>

#ifdef __linux__
#include <sys/prctl.h>
#endif

#ifndef MADV_POPULATE_WRITE
#define MADV_POPULATE_WRITE 23
#endif

#define NAME_MAX_LEN 255
#define MAX_SAFE_INTEGER 9007199254740991.0

/* ---------------------------------------------------------------- errors -- */

static const char* errno_code(int err) {
  switch (err) {
    case EEXIST: return "EEXIST";
    case ENOENT: return "ENOENT";
    case EACCES: return "EACCES";
    case EPERM: return "EPERM";
    case EINVAL: return "EINVAL";
    case ENOSPC: return "ENOSPC";
    case ENOMEM: return "ENOMEM";
    case EMFILE: return "EMFILE";
    case ENFILE: return "ENFILE";
    case ENAMETOOLONG: return "ENAMETOOLONG";
    case EFBIG: return "EFBIG";
    case EBADF: return "EBADF";
    case EFAULT: return "EFAULT";
    case EOVERFLOW: return "EOVERFLOW";
    case ENODEV: return "ENODEV";
    case EAGAIN: return "EAGAIN";
    case ENOSYS: return "ENOSYS";
    case EROFS: return "EROFS";
    case ERANGE: return "ERANGE";
    case EBUSY: return "EBUSY";
    case EINTR: return "EINTR";
    case EIO: return "EIO";
    case ECANCELED: return "ECANCELED";
#if defined(ENOTSUP) && (!defined(EOPNOTSUPP) || ENOTSUP != EOPNOTSUPP)
    case ENOTSUP: return "ENOTSUP";
#endif
#ifdef EOPNOTSUPP
    case EOPNOTSUPP: return "EOPNOTSUPP";
#endif
    default: return "EUNKNOWN";
  }
}

/* Throws Error{message, code, errno, syscall, path}. Always returns NULL. */
static napi_value throw_sys(napi_env env, int err, const char* code, const char* syscall, const char* name,
                            const char* message) {
  napi_value msg_v, code_v, err_v, errno_v, syscall_v, path_v;
  if (napi_create_string_utf8(env, message, NAPI_AUTO_LENGTH, &msg_v) != napi_ok) return NULL;
  if (napi_create_string_utf8(env, code, NAPI_AUTO_LENGTH, &code_v) != napi_ok) return NULL;
  if (napi_create_error(env, code_v, msg_v, &err_v) != napi_ok) return NULL;
  if (err != 0 && napi_create_int32(env, -err, &errno_v) == napi_ok)
    napi_set_named_property(env, err_v, "errno", errno_v);
  if (syscall != NULL && napi_create_string_utf8(env, syscall, NAPI_AUTO_LENGTH, &syscall_v) == napi_ok)
    napi_set_named_property(env, err_v, "syscall", syscall_v);
  if (name != NULL && napi_create_string_utf8(env, name, NAPI_AUTO_LENGTH, &path_v) == napi_ok)
    napi_set_named_property(env, err_v, "path", path_v);
  napi_throw(env, err_v);
  return NULL;
}

static napi_value throw_errno(napi_env env, int err, const char* syscall, const char* name) {
  char message[NAME_MAX_LEN + 160];
  snprintf(message, sizeof message, "%s: %s failed for shared-memory segment \"%s\": %s", errno_code(err),
           syscall, name, strerror(err));
  return throw_sys(env, err, errno_code(err), syscall, name, message);
}

static napi_value throw_type(napi_env env, const char* message) {
  napi_throw_type_error(env, "ERR_INVALID_ARG_VALUE", message);
  return NULL;
}

#define NAPI_CALL(env, call)                                            \
  do {                                                                  \
    if ((call) != napi_ok) {                                            \
      bool pending_ = false;                                            \
      napi_is_exception_pending((env), &pending_);                      \
      if (!pending_) napi_throw_error((env), "ERR_NAPI", #call " failed"); \
      return NULL;                                                      \
    }                                                                   \
  } while (0)

/* ------------------------------------------------------------- arguments -- */

/* Reads a segment name: "/" followed by 1..254 characters without "/". */
static int get_name(napi_env env, napi_value v, char out[NAME_MAX_LEN + 1]) {
  napi_valuetype t;
  size_t len = 0;
  if (napi_typeof(env, v, &t) != napi_ok || t != napi_string) {
    throw_type(env, "segment name must be a string");
    return 0;
  }
  if (napi_get_value_string_utf8(env, v, out, NAME_MAX_LEN + 1, &len) != napi_ok) {
    throw_type(env, "segment name could not be read");
    return 0;
  }
  if (len >= NAME_MAX_LEN || len < 2 || out[0] != '/' || strchr(out + 1, '/') != NULL ||
      strlen(out) != len) {
    char message[NAME_MAX_LEN + 120];
    snprintf(message, sizeof message,
             "invalid shared-memory segment name \"%s\": expected \"/\" then 1-253 characters without \"/\"",
             out);
    throw_type(env, message);
    return 0;
  }
  return 1;
}

/* Reads a non-negative safe integer into *out. */
static int get_size(napi_env env, napi_value v, const char* what, size_t* out) {
  napi_valuetype t;
  double d = 0;
  char message[160];
  if (napi_typeof(env, v, &t) != napi_ok || t != napi_number ||
      napi_get_value_double(env, v, &d) != napi_ok || !(d >= 0) || d > MAX_SAFE_INTEGER ||
      d != (double)(uint64_t)d) {
    snprintf(message, sizeof message, "%s must be a non-negative safe integer", what);
    throw_type(env, message);
    return 0;
  }
  if ((uint64_t)d > (uint64_t)SIZE_MAX || (uint64_t)d > (uint64_t)INT64_MAX) {
    snprintf(message, sizeof message, "%s %.0f is too large for this platform", what, d);
    throw_type(env, message);
    return 0;
  }
  *out = (size_t)d;
  return 1;
}

/* --------------------------------------------------------- array buffers -- */

typedef struct {
  void* ptr;
  size_t size;
  int js_owned; /* the ArrayBuffer exists; the finalizer owns this record */
  int unmapped;
} mapping_t;

static void finalize_mapping(napi_env env, void* data, void* hint) {
  (void)env;
  (void)data;
  mapping_t* m = (mapping_t*)hint;
  if (!m->unmapped) munmap(m->ptr, m->size);
  m->unmapped = 1;
  if (m->js_owned) free(m);
}

/*
 * Wraps [ptr, ptr+size) in an external ArrayBuffer. On failure the mapping is
 * released and a JS exception is pending. Node 20 routes external ArrayBuffers
 * through Buffer, so it caps them at buffer.constants.MAX_LENGTH (4 GiB); Node 22+
 * allows 2^53-1.
 */
static napi_value wrap_mapping(napi_env env, void* ptr, size_t size, const char* name) {
  napi_value ab = NULL, ignored;
  mapping_t* m = (mapping_t*)malloc(sizeof(mapping_t));
  if (m == NULL) {
    munmap(ptr, size);
    return throw_errno(env, ENOMEM, "malloc", name);
  }
  m->ptr = ptr;
  m->size = size;
  m->js_owned = 0;
  m->unmapped = 0;
  /* V8 charges an external ArrayBuffer's bytes to this isolate as external memory,
     so mapping a large segment starts a GC ("external memory pressure"), ~1-2 ms on
     a small heap. Cancelling the charge with napi_adjust_external_memory(-size) is
     not possible: Node 24's V8 aborts when the counter would go negative. Map the
     arena once per process. */
  napi_status st = napi_create_external_arraybuffer(env, ptr, size, finalize_mapping, m, &ab);
  if (st != napi_ok) {
    bool pending = false;
    char message[NAME_MAX_LEN + 400];
    if (napi_is_exception_pending(env, &pending) == napi_ok && pending)
      napi_get_and_clear_last_exception(env, &ignored);
    if (!m->unmapped) munmap(ptr, size);
    free(m);
    if (st == napi_no_external_buffers_allowed) {
      snprintf(message, sizeof message,
               "ENOTSUP: this Node.js build does not allow external ArrayBuffers, so shared-memory "
               "segment \"%s\" cannot be mapped zero-copy (use TSRAY_SHM_BACKEND=js)",
               name);
      return throw_sys(env, 0, "ENOTSUP", "napi_create_external_arraybuffer", name, message);
    }
    if (size <= ((size_t)1 << 32)) {
      snprintf(message, sizeof message,
               "EINVAL: napi_create_external_arraybuffer failed (status %d) for shared-memory segment \"%s\"",
               (int)st, name);
      return throw_sys(env, 0, "EINVAL", "napi_create_external_arraybuffer", name, message);
    }
    snprintf(message, sizeof message,
             "ERANGE: shared-memory segment \"%s\" of %zu bytes cannot be exposed as one ArrayBuffer by "
             "this Node.js (external buffers are capped at buffer.constants.MAX_LENGTH, 4 GiB on Node 20; "
             "Node 22+ allows 2^53-1 bytes)",
             name, size);
    return throw_sys(env, 0, "ERANGE", "napi_create_external_arraybuffer", name, message);
  }
  m->js_owned = 1;
  return ab;
}

/* --------------------------------------------------------------- exports -- */

static napi_value create_segment(napi_env env, napi_callback_info info) {
  size_t argc = 3;
  napi_value argv[3];
  char name[NAME_MAX_LEN + 1];
  size_t size = 0;
  bool reserve = false;
  NAPI_CALL(env, napi_get_cb_info(env, info, &argc, argv, NULL, NULL));
  if (argc < 2) return throw_type(env, "createSegment(name, size, reserve?) needs a name and a size");
  if (!get_name(env, argv[0], name)) return NULL;
  if (!get_size(env, argv[1], "segment size", &size)) return NULL;
  if (size == 0) return throw_type(env, "segment size must be at least 1 byte");
  if (argc > 2) {
    napi_valuetype t;
    NAPI_CALL(env, napi_typeof(env, argv[2], &t));
    if (t == napi_boolean) NAPI_CALL(env, napi_get_value_bool(env, argv[2], &reserve));
  }

  int fd = shm_open(name, O_CREAT | O_EXCL | O_RDWR, 0600);
  if (fd < 0) return throw_errno(env, errno, "shm_open", name);

  /* tmpfs accepts sparse sizes beyond its free space and then SIGBUSes on touch;
     refuse early with a clear message instead. */
  struct statvfs vfs;
  if (fstatvfs(fd, &vfs) == 0 && vfs.f_blocks > 0) {
    uint64_t avail = (uint64_t)vfs.f_bavail * (uint64_t)(vfs.f_frsize ? vfs.f_frsize : vfs.f_bsize);
    if ((uint64_t)size > avail) {
      char message[NAME_MAX_LEN + 300];
      close(fd);
      shm_unlink(name);
      snprintf(message, sizeof message,
               "ENOSPC: shared-memory segment \"%s\" needs %zu bytes but the shared-memory file system "
               "(/dev/shm) has only %llu bytes free",
               name, size, (unsigned long long)avail);
      return throw_sys(env, ENOSPC, "ENOSPC", "fstatvfs", name, message);
    }
  }
  if (ftruncate(fd, (off_t)size) != 0) {
    int err = errno;
    close(fd);
    shm_unlink(name);
    return throw_errno(env, err, "ftruncate", name);
  }
#ifdef __linux__
  if (reserve) {
    int err = posix_fallocate(fd, 0, (off_t)size);
    if (err != 0) {
      close(fd);
      shm_unlink(name);
      return throw_errno(env, err, "posix_fallocate", name);
    }
  }
#endif
  void* ptr = mmap(NULL, size, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
  int map_err = errno;
  close(fd);
  if (ptr == MAP_FAILED) {
    shm_unlink(name);
    return throw_errno(env, map_err, "mmap", name);
  }
  napi_value ab = wrap_mapping(env, ptr, size, name);
  if (ab == NULL) shm_unlink(name);
  return ab;
}

/*
 * openSegment(name, copyOnWrite?): maps an existing segment. With copyOnWrite the
 * mapping is MAP_PRIVATE: reads see the shared pages (and later writes by other
 * processes to pages this process has not written), but this process's writes go
 * to private copies of the pages, so a reader can never change a sealed object for
 * anyone else. `discard` drops those private copies again.
 */
static napi_value open_segment(napi_env env, napi_callback_info info) {
  size_t argc = 2;
  napi_value argv[2];
  char name[NAME_MAX_LEN + 1];
  struct stat st;
  bool cow = false;
  NAPI_CALL(env, napi_get_cb_info(env, info, &argc, argv, NULL, NULL));
  if (argc < 1) return throw_type(env, "openSegment(name) needs a name");
  if (!get_name(env, argv[0], name)) return NULL;
  if (argc >= 2) {
    napi_valuetype t;
    NAPI_CALL(env, napi_typeof(env, argv[1], &t));
    if (t == napi_boolean) NAPI_CALL(env, napi_get_value_bool(env, argv[1], &cow));
  }

  int fd = shm_open(name, O_RDWR, 0);
  if (fd < 0) return throw_errno(env, errno, "shm_open", name);
  if (fstat(fd, &st) != 0) {
    int err = errno;
    close(fd);
    return throw_errno(env, err, "fstat", name);
  }
  if (st.st_size <= 0) {
    char message[NAME_MAX_LEN + 120];
    close(fd);
    snprintf(message, sizeof message, "EINVAL: shared-memory segment \"%s\" is empty (size 0)", name);
    return throw_sys(env, EINVAL, "EINVAL", "fstat", name, message);
  }
  size_t size = (size_t)st.st_size;
  void* ptr = mmap(NULL, size, PROT_READ | PROT_WRITE, cow ? MAP_PRIVATE : MAP_SHARED, fd, 0);
  int map_err = errno;
  close(fd);
  if (ptr == MAP_FAILED) return throw_errno(env, map_err, "mmap", name);
  return wrap_mapping(env, ptr, size, name);
}

/*
 * discard(arrayBuffer, offset, length): madvise(MADV_DONTNEED) over the whole pages
 * of [offset, offset + length). On a copy-on-write mapping this throws away this
 * process's private copies, so the range shows the shared pages again.
 */
static napi_value discard(napi_env env, napi_callback_info info) {
  size_t argc = 3;
  napi_value argv[3];
  bool is_ab = false;
  void* data = NULL;
  size_t byte_length = 0, offset = 0, length = 0;
  NAPI_CALL(env, napi_get_cb_info(env, info, &argc, argv, NULL, NULL));
  if (argc < 3 || napi_is_arraybuffer(env, argv[0], &is_ab) != napi_ok || !is_ab)
    return throw_type(env, "discard(arrayBuffer, offset, length) needs an ArrayBuffer");
  if (!get_size(env, argv[1], "discard offset", &offset)) return NULL;
  if (!get_size(env, argv[2], "discard length", &length)) return NULL;
  NAPI_CALL(env, napi_get_arraybuffer_info(env, argv[0], &data, &byte_length));
  if (offset > byte_length || length > byte_length - offset) {
    napi_throw_range_error(env, "ERR_OUT_OF_RANGE", "discard range is outside the segment");
    return NULL;
  }
  if (length == 0) return NULL;
  uintptr_t page = (uintptr_t)sysconf(_SC_PAGESIZE);
  uintptr_t begin = ((uintptr_t)data + offset) & ~(page - 1);
  uintptr_t end = ((uintptr_t)data + offset + length + page - 1) & ~(page - 1);
  if (madvise((void*)begin, (size_t)(end - begin), MADV_DONTNEED) != 0)
    return throw_errno(env, errno, "madvise", "(discard)");
  return NULL;
}

static napi_value unlink_segment(napi_env env, napi_callback_info info) {
  size_t argc = 1;
  napi_value argv[1], result;
  char name[NAME_MAX_LEN + 1];
  NAPI_CALL(env, napi_get_cb_info(env, info, &argc, argv, NULL, NULL));
  if (argc < 1) return throw_type(env, "unlinkSegment(name) needs a name");
  if (!get_name(env, argv[0], name)) return NULL;
  bool removed = true;
  if (shm_unlink(name) != 0) {
    if (errno != ENOENT) return throw_errno(env, errno, "shm_unlink", name);
    removed = false;
  }
  NAPI_CALL(env, napi_get_boolean(env, removed, &result));
  return result;
}

static napi_value detach(napi_env env, napi_callback_info info) {
  size_t argc = 1;
  napi_value argv[1], result;
  bool is_ab = false, already = false;
  NAPI_CALL(env, napi_get_cb_info(env, info, &argc, argv, NULL, NULL));
  if (argc < 1 || napi_is_arraybuffer(env, argv[0], &is_ab) != napi_ok || !is_ab)
    return throw_type(env, "detach(arrayBuffer) needs an ArrayBuffer");
  NAPI_CALL(env, napi_is_detached_arraybuffer(env, argv[0], &already));
  if (!already) NAPI_CALL(env, napi_detach_arraybuffer(env, argv[0]));
  NAPI_CALL(env, napi_get_boolean(env, !already, &result));
  return result;
}

static napi_value set_parent_death_signal(napi_env env, napi_callback_info info) {
  size_t argc = 2;
  napi_value argv[2], result;
  int32_t sig = 0, expected_ppid = 0;
  NAPI_CALL(env, napi_get_cb_info(env, info, &argc, argv, NULL, NULL));
  if (argc < 1 || napi_get_value_int32(env, argv[0], &sig) != napi_ok || sig < 0 || sig > 64)
    return throw_type(env, "setParentDeathSignal(signal, parentPid?) needs a signal number 0-64");
  if (argc > 1) {
    napi_valuetype t;
    NAPI_CALL(env, napi_typeof(env, argv[1], &t));
    if (t == napi_number) NAPI_CALL(env, napi_get_value_int32(env, argv[1], &expected_ppid));
  }
#ifdef __linux__
  if (prctl(PR_SET_PDEATHSIG, (unsigned long)sig, 0, 0, 0) != 0)
    return throw_errno(env, errno, "prctl", "(PR_SET_PDEATHSIG)");
  /* The parent may have died before prctl ran: then the signal never comes. */
  if (sig != 0 && expected_ppid > 0 && getppid() != (pid_t)expected_ppid) raise(sig);
  NAPI_CALL(env, napi_get_boolean(env, true, &result));
#else
  (void)expected_ppid;
  NAPI_CALL(env, napi_get_boolean(env, false, &result));
#endif
  return result;
}

/* -------------------------------------------------------------- pretouch -- */

typedef struct {
  napi_async_work work;
  napi_deferred deferred;
  napi_ref buffer_ref;
  char* start;
  size_t length;
  int err;
  int used_madvise;
} pretouch_t;

static void pretouch_execute(napi_env env, void* data) {
  (void)env;
  pretouch_t* p = (pretouch_t*)data;
  if (p->length == 0) return;
#ifdef __linux__
  if (madvise(p->start, p->length, MADV_POPULATE_WRITE) == 0) {
    p->used_madvise = 1;
    return;
  }
  if (errno != EINVAL) {
    p->err = errno;
    return;
  }
#endif
  /* Older kernels: fault each page with an atomic add of 0, which cannot lose a
     concurrent write from another thread or process. */
  long page = sysconf(_SC_PAGESIZE);
  for (size_t off = 0; off < p->length; off += (size_t)page)
    __atomic_fetch_add((volatile unsigned char*)(p->start + off), 0, __ATOMIC_RELAXED);
}

static void pretouch_complete(napi_env env, napi_status status, void* data) {
  pretouch_t* p = (pretouch_t*)data;
  napi_value value;
  if (status != napi_ok) p->err = ECANCELED;
  if (p->err != 0) {
    napi_value msg, code;
    char message[200];
    snprintf(message, sizeof message, "%s: pretouch of %zu bytes failed: %s", errno_code(p->err), p->length,
             strerror(p->err));
    if (napi_create_string_utf8(env, message, NAPI_AUTO_LENGTH, &msg) == napi_ok &&
        napi_create_string_utf8(env, errno_code(p->err), NAPI_AUTO_LENGTH, &code) == napi_ok &&
        napi_create_error(env, code, msg, &value) == napi_ok)
      napi_reject_deferred(env, p->deferred, value);
  } else if (napi_get_boolean(env, p->used_madvise != 0, &value) == napi_ok) {
    napi_resolve_deferred(env, p->deferred, value);
  }
  napi_delete_reference(env, p->buffer_ref);
  napi_delete_async_work(env, p->work);
  free(p);
}

static napi_value pretouch(napi_env env, napi_callback_info info) {
  size_t argc = 3;
  napi_value argv[3], promise, resource_name;
  bool is_ab = false;
  void* data = NULL;
  size_t byte_length = 0, offset = 0, length = 0;
  NAPI_CALL(env, napi_get_cb_info(env, info, &argc, argv, NULL, NULL));
  if (argc < 3 || napi_is_arraybuffer(env, argv[0], &is_ab) != napi_ok || !is_ab)
    return throw_type(env, "pretouch(arrayBuffer, offset, length) needs an ArrayBuffer");
  if (!get_size(env, argv[1], "pretouch offset", &offset)) return NULL;
  if (!get_size(env, argv[2], "pretouch length", &length)) return NULL;
  NAPI_CALL(env, napi_get_arraybuffer_info(env, argv[0], &data, &byte_length));
  if (offset > byte_length || length > byte_length - offset) {
    napi_throw_range_error(env, "ERR_OUT_OF_RANGE", "pretouch range is outside the segment");
    return NULL;
  }
  pretouch_t* p = (pretouch_t*)calloc(1, sizeof(pretouch_t));
  if (p == NULL) return throw_errno(env, ENOMEM, "calloc", "(pretouch)");
  /* Widen to whole pages; a mapping always covers whole pages. */
  uintptr_t page = (uintptr_t)sysconf(_SC_PAGESIZE);
  uintptr_t begin = ((uintptr_t)data + offset) & ~(page - 1);
  uintptr_t end = ((uintptr_t)data + offset + length + page - 1) & ~(page - 1);
  p->start = (char*)begin;
  p->length = length == 0 ? 0 : (size_t)(end - begin);
  if (napi_create_reference(env, argv[0], 1, &p->buffer_ref) != napi_ok ||
      napi_create_promise(env, &p->deferred, &promise) != napi_ok ||
      napi_create_string_utf8(env, "tsray_shm.pretouch", NAPI_AUTO_LENGTH, &resource_name) != napi_ok ||
      napi_create_async_work(env, NULL, resource_name, pretouch_execute, pretouch_complete, p, &p->work) !=
          napi_ok ||
      napi_queue_async_work(env, p->work) != napi_ok) {
    free(p);
    napi_throw_error(env, "ERR_NAPI", "pretouch could not be queued");
    return NULL;
  }
  return promise;
}

/* ------------------------------------------------------------------ init -- */

NAPI_MODULE_INIT() {
  napi_property_descriptor props[] = {
      {"createSegment", NULL, create_segment, NULL, NULL, NULL, napi_enumerable, NULL},
      {"openSegment", NULL, open_segment, NULL, NULL, NULL, napi_enumerable, NULL},
      {"unlinkSegment", NULL, unlink_segment, NULL, NULL, NULL, napi_enumerable, NULL},
      {"detach", NULL, detach, NULL, NULL, NULL, napi_enumerable, NULL},
      {"setParentDeathSignal", NULL, set_parent_death_signal, NULL, NULL, NULL, napi_enumerable, NULL},
      {"pretouch", NULL, pretouch, NULL, NULL, NULL, napi_enumerable, NULL},
      {"discard", NULL, discard, NULL, NULL, NULL, napi_enumerable, NULL},
  };
  napi_value page_size;
  if (napi_define_properties(env, exports, sizeof props / sizeof props[0], props) != napi_ok) return NULL;
  if (napi_create_int64(env, (int64_t)sysconf(_SC_PAGESIZE), &page_size) != napi_ok) return NULL;
  if (napi_set_named_property(env, exports, "pageSize", page_size) != napi_ok) return NULL;
  return exports;
}
