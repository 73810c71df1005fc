// ReaderThread<Derived>: the lifecycle the addon's readers (AuditSocket, DnsCapture, SockDiagSocket)
// share. Each owns one socket (fd_) and an eventfd that wakes its reader thread (wake_fd_); the
// thread reads into a queue of the derived class's own and hands JavaScript batches through a
// ThreadSafeFunction (CallDeliver runs Derived::Deliver on the JavaScript thread). close() stops
// the thread and closes both descriptors; the batches already queued are still delivered, and
// onClosed runs after the last of them. ref()/unref() decide whether the reader keeps Node's event
// loop alive.
//
// Derived supplies ReaderLoop() (the thread's body, which ends once stopping_ is set) and
// Deliver(env, onBatch), and may supply OnStopping() (after stopping_ is set, before the reader is
// joined: wake whatever else the reader may wait on) and OnReaderJoined() (after: stop threads
// fed by the reader). It makes ReaderThread<Derived> a friend, calls StartReader() at the end of
// its constructor, and Shutdown() in its destructor (here it would run after Derived's members
// are gone, while the thread may still use them).
#pragma once
#include <napi.h>
#include <unistd.h>

#include <atomic>
#include <cstdint>
#include <thread>
#include <vector>

namespace auditflow {

template <typename Derived>
class ReaderThread : public Napi::ObjectWrap<Derived> {
 protected:
  explicit ReaderThread(const Napi::CallbackInfo& info) : Napi::ObjectWrap<Derived>(info) {}

  // close, ref and unref, for Derived's DefineClass.
  static std::vector<Napi::ClassPropertyDescriptor<Derived>> LifecycleMethods() {
    using Method = Napi::Value (Derived::*)(const Napi::CallbackInfo&);
    return {
        Napi::ObjectWrap<Derived>::InstanceMethod("close", static_cast<Method>(&ReaderThread::Close)),
        Napi::ObjectWrap<Derived>::InstanceMethod("ref", static_cast<Method>(&ReaderThread::JsRef)),
        Napi::ObjectWrap<Derived>::InstanceMethod("unref", static_cast<Method>(&ReaderThread::JsUnref)),
    };
  }

  // Once fd_ and wake_fd_ are open: the ThreadSafeFunction that carries batches to onBatch, the
  // hold on the wrapper and the environment's cleanup hook, then the reader thread.
  void StartReader(Napi::Env env, Napi::Function on_batch, Napi::Function on_closed, const char* resource_name) {
    on_closed_ = Napi::Persistent(on_closed);
    deliver_ = Napi::ThreadSafeFunction::New(env, on_batch, resource_name, 0, 1, [this](Napi::Env finalize_env) {
      Napi::HandleScope scope(finalize_env);
      Napi::FunctionReference closed = std::move(on_closed_);
      // During environment teardown (process exit with the reader unref'd) JavaScript can no
      // longer run; the calls fail and there is nobody left to tell.
      try {
        // Last use of `this`: the wrapper may be collected now.
        Napi::ObjectWrap<Derived>::Unref();
        closed.Call({});
      } catch (const Napi::Error&) {
      }
    });
    // The reader thread and queued deliveries use `this`, so the wrapper stays alive until close()
    // has run and the last batch was delivered (the finalizer above).
    Napi::ObjectWrap<Derived>::Ref();
    napi_add_env_cleanup_hook(env, OnEnvCleanup, this);
    reader_ = std::thread(&Derived::ReaderLoop, static_cast<Derived*>(this));
  }

  // From the reader's threads: Derived::Deliver on the JavaScript thread, soon.
  void CallDeliver() {
    deliver_.NonBlockingCall([this](Napi::Env env, Napi::Function on_batch) { static_cast<Derived*>(this)->Deliver(env, on_batch); });
  }

  void Shutdown() {
    if (closed_) return;
    closed_ = true;
    stopping_.store(true);
    uint64_t one = 1;
    if (write(wake_fd_, &one, sizeof one) < 0) {
      // The eventfd cannot be full after one write; poll's timeout is the fallback anyway.
    }
    static_cast<Derived*>(this)->OnStopping();
    if (reader_.joinable()) reader_.join();
    static_cast<Derived*>(this)->OnReaderJoined();
    close(fd_);
    close(wake_fd_);
    fd_ = -1;
    wake_fd_ = -1;
    // Batches already queued are still delivered; the finalizer (onClosed) runs after them.
    deliver_.Release();
  }

  void OnStopping() {}
  void OnReaderJoined() {}

  int fd_ = -1;
  int wake_fd_ = -1;
  std::atomic<bool> stopping_{false};
  bool closed_ = false;

 private:
  Napi::Value Close(const Napi::CallbackInfo& info) {
    if (!closed_) napi_remove_env_cleanup_hook(info.Env(), OnEnvCleanup, this);
    Shutdown();
    return info.Env().Undefined();
  }

  Napi::Value JsRef(const Napi::CallbackInfo& info) {
    if (!closed_) deliver_.Ref(info.Env());
    return info.Env().Undefined();
  }

  Napi::Value JsUnref(const Napi::CallbackInfo& info) {
    if (!closed_) deliver_.Unref(info.Env());
    return info.Env().Undefined();
  }

  static void OnEnvCleanup(void* self) { static_cast<ReaderThread*>(self)->Shutdown(); }

  Napi::ThreadSafeFunction deliver_;
  Napi::FunctionReference on_closed_;
  std::thread reader_;
};

}  // namespace auditflow
