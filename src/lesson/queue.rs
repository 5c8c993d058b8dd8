//! # queue: producers and consumers share one bounded queue (生产者消费者模型)
//!
//! P producer processes put items on one queue; C consumer processes get them and handle them.
//! Neither side knows the other: the queue between them is all they share, and it is a kernel
//! object. A full queue makes a producer wait until a consumer has taken something; an empty
//! one makes a consumer wait until a producer has put something. When every producer is done,
//! the main puts one end marker per consumer (Python's `None`), and each consumer stops at the
//! first one it gets.
//!
//! Which kernel object: a POSIX message queue (mq_overview(7)). Chosen over a pipe because it
//! is exactly the thing being taught: its capacity is counted in items, not bytes
//! (`mq_maxmsg`, the Python `Queue(3)`'s 3; a pipe holds pages of bytes, and would need a
//! second object, a semaphore or a pipe of tokens, to count K items); it keeps each message
//! whole and in order; and one put is one `mq_send(3)`, one get one `mq_receive(3)`, the
//! kernel doing the waiting on full and empty. `--capacity` 1 to 10 is what an unprivileged
//! process may ask for (`/proc/sys/fs/mqueue/msg_max` is 10 by default). To see a full queue
//! before waiting on it (and say so), a put first tries with a deadline already past
//! (`mq_timedsend(3)` then fails with ETIMEDOUT at once), and a get likewise.
//!
//! Nothing is left behind: the main creates the queue as `/procdemo-<pid>-queue` and removes
//! that name at once (`mq_unlink(3)`), like an unlinked temporary file. The queue lives on
//! only through its descriptors, which the children inherit across execve(2) (on Linux a
//! queue descriptor is a file descriptor), so it vanishes with the last process of the run,
//! however the run ends, SIGKILL of the main included (the children then die by
//! `PR_SET_PDEATHSIG`).
//!
//! How does the main know that every item was handled exactly once, and in order? Its
//! consumers tick off each item they get in a tally, a shared memory page
//! (`sys::SharedMemory`, the same kind of object as in the `shared` lesson): one bit per
//! item, a count of items seen twice, a flag for an item out of order. The main reads it
//! after the last join.

use std::io::Write as _;
use std::os::fd::{AsFd, AsRawFd, RawFd};
use std::sync::atomic::{AtomicU64, Ordering};

use anyhow::{bail, Context, Result};
use nix::errno::Errno;
use nix::poll::PollFlags;
use nix::unistd::Pid;
use serde::{Serialize, Serializer};

use crate::child::{self, DecodeError, Encoder, Fields, Method};
use crate::event::{Ended, LessonEvent, Mark, Span};
use crate::lesson::part::TourPart;
use crate::sink::{Out, Settings};
use crate::supervisor::Supervisor;
use crate::sys::{self, MessageQueue, SharedMemory};
use crate::time::TimeScale;
use crate::quiz::ask::{Answer, Ask, Drawn, Observed, Rng};

/// A producer makes an item in 1, 2 or 3 times this (the reference's
/// `random.randint(1, 3) * 0.2`), before it puts it on the queue.
const PRODUCE_SECONDS: f64 = 0.2;
/// A consumer handles an item in 1, 2 or 3 times this, after it got it: slower than the
/// producers, so the queue fills up.
const HANDLE_SECONDS: f64 = 0.3;
/// The largest message: an item's name, `producer-9999:9999`, fits with room to spare.
const MSG_SIZE: usize = 32;

/// The most items one producer may put. Above the other counts' 10000: the benchmark puts
/// 100,000 items through two producers, and the tally page holds one bit per item.
pub const MAX_ITEMS: usize = 100_000;

#[derive(clap::Args, Debug, Clone)]
pub struct Args {
    /// How many producer processes
    #[arg(long, value_name = "P", default_value = "2", value_parser = crate::number::count)]
    pub producers: usize,

    /// How many consumer processes
    #[arg(long, value_name = "C", default_value = "2", value_parser = crate::number::count)]
    pub consumers: usize,

    /// How many items each producer puts (up to 100000: a benchmark's worth)
    #[arg(long, value_name = "N", default_value = "5",
          value_parser = |s: &str| crate::number::bounded(s, 1, MAX_ITEMS))]
    pub items: usize,

    /// How many items the queue holds (its mq_maxmsg)
    #[arg(long, value_name = "K", default_value = "3",
          value_parser = |s: &str| crate::number::bounded(s, 1, 10))]
    pub capacity: usize,
}

/// In the tour: part 2, the lessons after the tutorial.
pub const TOUR: TourPart = TourPart::AFTER;

pub const EXAMPLES: &str = "\
Examples:
  # 2 producers, 2 consumers, Queue(3)
  procdemo queue
  # who waited on the queue, and when
  procdemo --time-scale 0.3 queue --timeline
  # a queue of one: everyone takes turns
  procdemo queue --producers 3 --capacity 1
  # every item once, in order
  procdemo --json --time-scale 0 queue --items 10000 | tail -1";

/// One item: which producer made it, and its number in that producer's sequence. Written
/// (on the queue and in JSON) as `producer-0:3`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Item {
    pub producer: u32,
    pub seq: u32,
}

impl std::fmt::Display for Item {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "producer-{}:{}", self.producer, self.seq)
    }
}

impl Serialize for Item {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.collect_str(self)
    }
}

impl Item {
    /// The message that carries it: its name, in `buf`.
    fn encode(self, buf: &mut [u8; MSG_SIZE]) -> &[u8] {
        let mut rest = &mut buf[..];
        // Cannot fail: the longest name is 18 bytes.
        let _ = write!(rest, "{self}");
        let left = rest.len();
        &buf[..MSG_SIZE - left]
    }

    /// Read a message back; `None` if it is no item's name.
    fn decode(msg: &[u8]) -> Option<Item> {
        let rest = msg.strip_prefix(b"producer-")?;
        let colon = rest.iter().position(|&b| b == b':')?;
        let number = |b: &[u8]| -> Option<u32> {
            if b.is_empty() || b.len() > 9 || !b.iter().all(u8::is_ascii_digit) {
                return None;
            }
            Some(b.iter().fold(0, |n, &d| n * 10 + u32::from(d - b'0')))
        };
        Some(Item {
            producer: number(&rest[..colon])?,
            seq: number(&rest[colon + 1..])?,
        })
    }
}

#[derive(Clone, Debug, PartialEq, Serialize, strum::IntoStaticStr, strum::VariantNames)]
#[serde(untagged)]
#[strum(serialize_all = "snake_case")]
pub enum Event {
    /// main: the queue exists, for `capacity` items; its name (`queue`) was removed at once.
    QueueOpen { queue: String, capacity: usize },
    /// producer, or main with an end marker (`item` null): the queue is full, it waits.
    QueueFull { item: Option<Item> },
    /// producer: the item is on the queue.
    Put { item: Item },
    /// consumer: the queue is empty, it waits.
    QueueEmpty,
    /// consumer: took the item off the queue (and now handles it).
    Got { item: Item },
    /// consumer: took an end marker, and stops.
    QueueEnd,
    /// main: put one end marker (Python's `q.put(None)`), once per consumer.
    EndMarker,
}

impl LessonEvent for Event {
    /// A wait on the queue is its own stretch of the row; the put or get ends it.
    fn mark(&self) -> Option<Mark> {
        match self {
            Event::QueueFull { .. } | Event::QueueEmpty => Some(Mark::Begin(Span::QueueWait)),
            Event::Put { .. } | Event::Got { .. } | Event::QueueEnd | Event::EndMarker => {
                Some(Mark::End(Span::QueueWait))
            }
            Event::QueueOpen { .. } => None,
        }
    }
}

#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct Summary {
    pub producers: usize,
    pub consumers: usize,
    pub capacity: usize,
    /// Items the producers put on the queue.
    pub put: u64,
    /// Items the consumers got (an item got twice counts twice).
    pub got: u64,
    /// Items put and never got.
    pub lost: u64,
    /// Gets of an item that had already been got.
    pub duplicated: u64,
    /// Every consumer got each producer's items in the order that producer put them.
    pub in_order: bool,
}

pub fn run(s: &Settings, args: &Args) -> Result<()> {
    let out = Out::main(s.format, "queue")?;
    let (producers, consumers) = (args.producers, args.consumers);

    // The tally the consumers tick off, and the queue; both inherited by every child.
    let tally = Tally::create(producers, consumers, args.items)?;
    sys::keep_open_across_exec(&tally.memory.fd())?;
    // q = Queue(3)
    let (queue, name) = open_queue(args.capacity)?;
    sys::keep_open_across_exec(&queue)?;
    out.emit(&Event::QueueOpen {
        queue: name,
        capacity: args.capacity,
    })?;

    let mut children = Supervisor::new(&out, s.scale)?;
    let role = |side, index| Role {
        side,
        index,
        producers,
        consumers,
        items: args.items,
        queue: queue.as_fd().as_raw_fd(),
        tally: tally.memory.fd().as_raw_fd(),
    };
    // p1.start(); p2.start(); c1.start(); c2.start()
    let mut producer_pids = Vec::with_capacity(producers);
    for i in 0..producers {
        let r = role(Side::Producer, i);
        producer_pids.push(children.start(format!("producer-{i}"), r, Method::Exec)?);
    }
    let mut consumer_pids = Vec::with_capacity(consumers);
    for i in 0..consumers {
        let r = role(Side::Consumer, i);
        consumer_pids.push(children.start(format!("consumer-{i}"), r, Method::Exec)?);
    }
    let mut killed = false;

    // p1.join(); p2.join(). A producer waits while the queue is full; should every consumer
    // be gone (killed from outside), nobody would ever make room, so it is ended instead.
    for &pid in &producer_pids {
        while children.is_running(pid) && any_running(&children, &consumer_pids) {
            children.wait_ready(&[])?;
        }
        let ended = if children.is_running(pid) {
            children.terminate(pid)?
        } else {
            children.join(pid)?
        };
        killed |= matches!(ended, Ended::Signal(_));
    }

    // q.put(None), once per consumer: each consumer stops at the first one it gets. The main
    // waits on a full queue too, with poll(2) on the queue's descriptor, so that Ctrl-C and
    // its children's ends still reach it.
    'markers: for _ in 0..consumers {
        let mut waiting = false;
        while !queue.try_send(b"")? {
            if !any_running(&children, &consumer_pids) {
                break 'markers;
            }
            if !waiting {
                out.emit(&Event::QueueFull { item: None })?;
                waiting = true;
            }
            children.wait_ready(&[(queue.as_fd(), PollFlags::POLLOUT)])?;
        }
        out.emit(&Event::EndMarker)?;
    }

    // c1.join(); c2.join()
    for &pid in &consumer_pids {
        killed |= matches!(children.join(pid)?, Ended::Signal(_));
    }

    let summary = tally.summary(args);
    out.emit(&summary)?;
    if !killed
        && (summary.lost > 0
            || summary.duplicated > 0
            || !summary.in_order
            || summary.put != (producers * args.items) as u64)
    {
        bail!(
            "the queue lost {} item(s), duplicated {}, in order: {}: this is a bug in procdemo",
            summary.lost,
            summary.duplicated,
            summary.in_order
        );
    }
    children.finish()
}

fn any_running(children: &Supervisor, pids: &[Pid]) -> bool {
    pids.iter().any(|&p| children.is_running(p))
}

/// Create the queue under a name of its own, and remove the name at once.
fn open_queue(capacity: usize) -> Result<(MessageQueue, String)> {
    let pid = std::process::id();
    for n in 0..100 {
        let name = match n {
            0 => format!("/procdemo-{pid}-queue"),
            n => format!("/procdemo-{pid}-queue-{n}"),
        };
        let c_name = std::ffi::CString::new(name.clone()).expect("no NUL in the name");
        match MessageQueue::create_unlinked(&c_name, capacity, MSG_SIZE) {
            Ok(queue) => return Ok((queue, name)),
            // Left by an earlier process with our pid, killed between open and unlink.
            Err(Errno::EEXIST) => continue,
            Err(e) => {
                return Err(e).with_context(|| {
                    format!(
                        "mq_open {name} (capacity {capacity}; see /proc/sys/fs/mqueue/msg_max \
                         and queues_max)"
                    )
                })
            }
        }
    }
    bail!("mq_open: no free name for the queue")
}

/// Which half of the model a child plays.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Side {
    Producer,
    Consumer,
}

/// A producer or a consumer, with the queue and the tally it inherited.
#[derive(Clone, Debug, PartialEq)]
pub struct Role {
    pub side: Side,
    /// Its number among the producers (or the consumers).
    pub index: usize,
    pub producers: usize,
    pub consumers: usize,
    /// Items per producer.
    pub items: usize,
    /// The queue's descriptor.
    pub queue: RawFd,
    /// The tally's descriptor.
    pub tally: RawFd,
}

impl child::Role for Role {
    const LESSON: &'static str = "queue";

    fn encode(&self, kv: &mut Encoder) {
        kv.put(
            "side",
            match self.side {
                Side::Producer => "producer",
                Side::Consumer => "consumer",
            },
        );
        kv.number("index", self.index);
        kv.number("producers", self.producers);
        kv.number("consumers", self.consumers);
        kv.number("items", self.items);
        kv.number("queue", self.queue);
        kv.number("tally", self.tally);
    }

    fn decode(kv: &mut Fields) -> Result<Self, DecodeError> {
        let side = match kv.text("side")? {
            "producer" => Side::Producer,
            "consumer" => Side::Consumer,
            other => return Err(child::bad(format!("unknown side `{other}`"))),
        };
        let producers = kv.number_in("producers", 1..=10_000)?;
        let consumers = kv.number_in("consumers", 1..=10_000)?;
        let of = match side {
            Side::Producer => producers,
            Side::Consumer => consumers,
        };
        Ok(Role {
            side,
            index: kv.number_in("index", 0..=of - 1)?,
            producers,
            consumers,
            items: kv.number_in("items", 1..=MAX_ITEMS)?,
            queue: kv.descriptor("queue")?,
            tally: kv.descriptor("tally")?,
        })
    }

    fn run(self, out: &Out, scale: TimeScale) -> Result<i32> {
        let queue = MessageQueue::inherited(self.queue)?;
        if queue.msgsize() != MSG_SIZE {
            bail!("the queue takes messages of {} bytes", queue.msgsize());
        }
        let tally = Tally::inherited(self.tally, self.producers, self.consumers, self.items)?;
        // A line per item: the parent pid, which cannot change (we die with our parent), is
        // read once rather than with every line.
        let out = &out.with_fixed_parent();
        match self.side {
            Side::Producer => produce(out, scale, &queue, &tally, self.index, self.items)?,
            Side::Consumer => consume(out, scale, &queue, &tally, self.index, self.producers)?,
        }
        Ok(crate::error::code::SUCCESS)
    }
}

/// 1, 2 or 3: how many beats the n-th step of process `i` takes. Fixed rather than random, so
/// every run has the same pace; mixed, so the processes fall out of step.
fn beats(i: usize, n: usize) -> f64 {
    (1 + (i + 2 * n) % 3) as f64
}

/// `producer(name, food, q)`: make an item, put it on the queue, say so; N times.
fn produce(
    out: &Out,
    scale: TimeScale,
    queue: &MessageQueue,
    tally: &Tally,
    index: usize,
    items: usize,
) -> Result<()> {
    let mut buf = [0u8; MSG_SIZE];
    for seq in 0..items {
        scale.sleep(PRODUCE_SECONDS * beats(index, seq));
        let item = Item {
            producer: index as u32,
            seq: seq as u32,
        };
        let msg = item.encode(&mut buf);
        // q.put(data): blocks while the queue is full.
        if !queue.try_send(msg)? {
            out.emit(&Event::QueueFull { item: Some(item) })?;
            queue.send(msg)?;
        }
        tally.put(index, seq + 1);
        out.emit(&Event::Put { item })?;
    }
    Ok(())
}

/// `consumer(name, q)`: get an item, handle it; stop at the end marker.
fn consume(
    out: &Out,
    scale: TimeScale,
    queue: &MessageQueue,
    tally: &Tally,
    index: usize,
    producers: usize,
) -> Result<()> {
    let mut buf = [0u8; MSG_SIZE];
    // The last number got from each producer, to check the order (u32::MAX: none yet).
    let mut last = vec![u32::MAX; producers];
    for n in 0.. {
        // food = q.get(): blocks while the queue is empty.
        let len = match queue.try_receive(&mut buf)? {
            Some(len) => len,
            None => {
                out.emit(&Event::QueueEmpty)?;
                queue.receive(&mut buf)?
            }
        };
        // if food is None: break
        if len == 0 {
            out.emit(&Event::QueueEnd)?;
            return Ok(());
        }
        let item = Item::decode(&buf[..len])
            .filter(|i| (i.producer as usize) < producers)
            .with_context(|| {
                format!(
                    "got a message that is no item: {:?}",
                    String::from_utf8_lossy(&buf[..len])
                )
            })?;
        let seen = &mut last[item.producer as usize];
        if *seen != u32::MAX && item.seq <= *seen {
            tally.out_of_order();
        }
        *seen = item.seq;
        tally.got(index, item, n + 1)?;
        out.emit(&Event::Got { item })?;
        scale.sleep(HANDLE_SECONDS * beats(index, n));
    }
    unreachable!("a consumer stops at its end marker")
}

/// The run's bookkeeping, in memory every process maps: how many items each producer put,
/// how many each consumer got, and one bit per item, set by the consumer that got it.
///
/// Words, each producer's and each consumer's count on a cache line of its own (8 words), so
/// that processes counting at the same time do not slow each other down:
/// `[put: P lines][got: C lines][duplicated, out of order: 1 line][bits: P*N]`.
struct Tally {
    memory: SharedMemory,
    producers: usize,
    consumers: usize,
    items: usize,
}

/// Words per counter: one 64-byte cache line.
const LINE: usize = 8;

impl Tally {
    fn words_for(producers: usize, consumers: usize, items: usize) -> usize {
        (producers + consumers + 1) * LINE + (producers * items).div_ceil(64)
    }

    fn create(producers: usize, consumers: usize, items: usize) -> Result<Tally> {
        let words = Self::words_for(producers, consumers, items);
        Ok(Tally {
            memory: SharedMemory::create(c"procdemo-queue-tally", words)?,
            producers,
            consumers,
            items,
        })
    }

    fn inherited(fd: RawFd, producers: usize, consumers: usize, items: usize) -> Result<Tally> {
        let words = Self::words_for(producers, consumers, items);
        Ok(Tally {
            memory: SharedMemory::inherited(fd, words).context("the tally")?,
            producers,
            consumers,
            items,
        })
    }

    fn word(&self, i: usize) -> &AtomicU64 {
        &self.memory.words()[i]
    }

    fn flags(&self) -> usize {
        (self.producers + self.consumers) * LINE
    }

    /// Producer `p` has put `count` items.
    fn put(&self, p: usize, count: usize) {
        self.word(p * LINE).store(count as u64, Ordering::Relaxed);
    }

    /// Consumer `c` got `item`, its `count`-th.
    fn got(&self, c: usize, item: Item, count: usize) -> Result<()> {
        let (p, seq) = (item.producer as usize, item.seq as usize);
        if p >= self.producers || seq >= self.items {
            bail!("got {item}, which no producer makes");
        }
        let bit = p * self.items + seq;
        let base = self.flags() + LINE;
        let before = self
            .word(base + bit / 64)
            .fetch_or(1 << (bit % 64), Ordering::Relaxed);
        if before & (1 << (bit % 64)) != 0 {
            self.word(self.flags()).fetch_add(1, Ordering::Relaxed);
        }
        self.word((self.producers + c) * LINE)
            .store(count as u64, Ordering::Relaxed);
        Ok(())
    }

    fn out_of_order(&self) {
        self.word(self.flags() + 1).store(1, Ordering::Relaxed);
    }

    /// What the counts say, read after every child has been reaped.
    fn summary(&self, args: &Args) -> Summary {
        let count = |i| self.word(i).load(Ordering::Relaxed);
        let base = self.flags() + LINE;
        let mut put = 0;
        let mut lost = 0;
        for p in 0..self.producers {
            let n = count(p * LINE).min(self.items as u64);
            put += n;
            for seq in 0..n as usize {
                let bit = p * self.items + seq;
                if count(base + bit / 64) & (1 << (bit % 64)) == 0 {
                    lost += 1;
                }
            }
        }
        let got = (0..self.consumers)
            .map(|c| count((self.producers + c) * LINE))
            .sum();
        Summary {
            producers: args.producers,
            consumers: args.consumers,
            capacity: args.capacity,
            put,
            got,
            lost,
            duplicated: count(self.flags()),
            in_order: count(self.flags() + 1) == 0,
        }
    }
}

// ---------------------------------------------------------------------------------------
// The quiz
// ---------------------------------------------------------------------------------------

/// What `procdemo quiz` asks about this lesson (its words: `question` in the message files).
#[derive(Clone, Copy, Debug, PartialEq, Eq, strum::IntoStaticStr)]
pub enum Question {
    /// How many items do the consumers get in all?
    #[strum(serialize = "queue_items")]
    Items,
}

impl Ask for Question {
    const ALL: &'static [Question] = &[Question::Items];

    fn draw(self, rng: &mut Rng) -> Drawn {
        // Producers and items per producer.
        Drawn::two(rng.between(1, 3), rng.between(2, 5))
    }

    fn args(self, d: Drawn) -> Vec<String> {
        vec![
            "--producers".into(),
            d.n.to_string(),
            "--items".into(),
            d.m.to_string(),
        ]
    }

    fn expected(self, d: Drawn) -> Answer {
        Answer::Number(d.n * d.m)
    }

    fn observed(self, _: Drawn, run: &Observed) -> Option<Answer> {
        Some(Answer::Number(run.summary()?["got"].as_u64()?))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn items_round_trip_through_their_message() {
        let mut buf = [0u8; MSG_SIZE];
        for item in [
            Item {
                producer: 0,
                seq: 0,
            },
            Item {
                producer: 9999,
                seq: 9999,
            },
        ] {
            let msg = item.encode(&mut buf).to_vec();
            assert_eq!(msg, item.to_string().as_bytes());
            assert_eq!(Item::decode(&msg), Some(item));
        }
        for bad in [
            &b""[..],
            b"producer-",
            b"producer-1",
            b"producer-1:",
            b"producer-:1",
            b"producer-1:x",
            b"consumer-1:1",
            b"producer-1:99999999999",
        ] {
            assert_eq!(Item::decode(bad), None, "{bad:?}");
        }
    }

    #[test]
    fn beats_are_one_two_or_three() {
        for i in 0..5 {
            for n in 0..9 {
                assert!((1.0..=3.0).contains(&beats(i, n)));
            }
        }
    }
}
