package dev.projectord.mongo;

import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.ScheduledFuture;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.function.Function;
import java.util.function.Supplier;

import de.bwaldvogel.mongo.bson.Document;
import de.bwaldvogel.mongo.exception.MongoServerError;
import de.bwaldvogel.mongo.wire.message.MessageHeader;
import de.bwaldvogel.mongo.wire.message.MongoMessage;
import io.netty.channel.Channel;
import io.netty.channel.ChannelFutureListener;
import io.netty.channel.ChannelHandlerContext;
import io.netty.channel.ChannelOutboundHandlerAdapter;
import io.netty.channel.ChannelPromise;

/**
 * {@code getMore} on a change stream that waits for data, as a real server does for
 * {@code awaitData} cursors: when nothing is there yet, the reply is held back until the oplog has
 * something for the stream or {@code maxTimeMS} (default 1 s) has passed, without blocking the
 * network thread. (Upstream answers at once, so an idle client polls in a tight loop or sleeps and
 * answers late.)
 *
 * <p>How, with only public extension points: the backend answers such a getMore with a
 * placeholder document; a handler added at the tail of the connection's pipeline swallows the
 * placeholder's write and keeps its header; the real reply is written later on the connection's
 * event loop with that header. Drivers send one request at a time per connection and wait for its
 * reply, so holding one back reorders nothing.
 */
final class AwaitData {

    /** Waits for an oplog append or a deadline; runs its read on the connection's event loop. */
    private final Set<Waiter> waiting = ConcurrentHashMap.newKeySet();

    /** Called after every oplog append: each waiting read checks whether it has news. */
    void wakeAll() {
        for (Waiter waiter : waiting) {
            waiter.wake();
        }
    }

    /** A killed cursor's held-back read answers at once (CursorKilled), as on a real server. */
    void cursorKilled(long cursorId) {
        for (Waiter waiter : waiting) {
            if (waiter.cursorId == cursorId) {
                waiter.kill();
            }
        }
    }

    /**
     * Holds the reply back: returns the placeholder the backend answers with. {@code attempt}
     * gives the reply when there is news (null otherwise); {@code finish} gives the reply at the
     * deadline; both run on the connection's event loop.
     */
    Document defer(Channel channel, long cursorId, long awaitMillis, Supplier<Document> attempt,
                   Supplier<Document> finish, Function<Document, Document> decorate) {
        Holder holder = channel.pipeline().get(Holder.class);
        if (holder == null) {
            holder = new Holder();
            channel.pipeline().addLast(holder);
        }
        Waiter waiter = new Waiter(channel, holder, cursorId, attempt, finish, decorate);
        holder.expected = waiter;
        waiting.add(waiter);
        waiter.deadline = channel.eventLoop().schedule(waiter::expire, awaitMillis, TimeUnit.MILLISECONDS);
        channel.closeFuture().addListener(waiter.onClose);
        return waiter.placeholder;
    }

    private final class Waiter {
        final Document placeholder = new Document("deferred", Boolean.TRUE);
        final Channel channel;
        final Holder holder;
        final long cursorId;
        final Supplier<Document> attempt;
        final Supplier<Document> finish;
        final Function<Document, Document> decorate;
        final AtomicBoolean scheduled = new AtomicBoolean();
        final ChannelFutureListener onClose = closed -> cancel();
        ScheduledFuture<?> deadline;
        MessageHeader header;
        boolean done;
        boolean killed;

        Waiter(Channel channel, Holder holder, long cursorId, Supplier<Document> attempt, Supplier<Document> finish,
               Function<Document, Document> decorate) {
            this.channel = channel;
            this.holder = holder;
            this.cursorId = cursorId;
            this.attempt = attempt;
            this.finish = finish;
            this.decorate = decorate;
        }

        void wake() {
            if (scheduled.compareAndSet(false, true)) {
                channel.eventLoop().execute(this::poll);
            }
        }

        void kill() {
            channel.eventLoop().execute(() -> {
                killed = true;
                poll();
            });
        }

        /** On the event loop, once the placeholder was swallowed: answer if there is news. */
        void poll() {
            scheduled.set(false);
            if (done || header == null) {
                return;
            }
            if (killed) {
                send(error(new MongoServerError(237, "CursorKilled", "cursor id " + cursorId + " was killed")));
                return;
            }
            Document reply;
            try {
                reply = attempt.get();
            } catch (MongoServerError e) {
                reply = error(e);
            }
            if (reply != null) {
                send(reply);
            }
        }

        void expire() {
            if (done || header == null) {
                return;
            }
            Document reply;
            try {
                reply = finish.get();
            } catch (MongoServerError e) {
                reply = error(e);
            }
            send(reply);
        }

        void cancel() {
            done = true;
            waiting.remove(this);
            if (deadline != null) {
                deadline.cancel(false);
            }
            channel.closeFuture().removeListener(onClose);
        }

        private void send(Document reply) {
            cancel();
            holder.context.writeAndFlush(new MongoMessage(channel, header, decorate.apply(reply)));
        }

        private Document error(MongoServerError e) {
            Document error = new Document("ok", 0.0)
                .append("errmsg", e.getMessageWithoutErrorCode())
                .append("code", e.getCode());
            error.putIfNotNull("codeName", e.getCodeName());
            return error;
        }
    }

    /** The pipeline's last handler: swallows a placeholder reply and keeps its header. */
    private static final class Holder extends ChannelOutboundHandlerAdapter {
        ChannelHandlerContext context;
        Waiter expected;

        @Override
        public void handlerAdded(ChannelHandlerContext ctx) {
            this.context = ctx;
        }

        @Override
        public void write(ChannelHandlerContext ctx, Object msg, ChannelPromise promise) throws Exception {
            Waiter waiter = expected;
            if (waiter != null && msg instanceof MongoMessage message && message.getDocument() == waiter.placeholder) {
                expected = null;
                waiter.header = message.getHeader();
                promise.setSuccess();
                // News may have come between the backend's empty read and now.
                waiter.poll();
                return;
            }
            super.write(ctx, msg, promise);
        }
    }
}
