//! 中文. Where the tutorial prints a line, the same words are used: `用户3查询余票为:1`,
//! `用户3抢票成功`, `没票了`, `主`, `总管正常活着`, `皇帝jason寿正终寝`, `子进程父进程:`;
//! `spawn` and `join` children say `Process-1 is running` / `is over`, in English, as the
//! tutorial's examples print them. Everything else is plain Chinese.
//!
//! One module per lesson, in the registry's order, as in `en.rs`.

use crate::error::code;
use crate::event::{Common, Ended, Header};
use crate::messages::{buyer_number, LessonText, Words};
use crate::text::trim_number;
use crate::timeline::ChartWords;

/// Seconds for a reader, from milliseconds.
fn secs(ms: f64) -> String {
    format!("{:.3} 秒", ms / 1000.0)
}

fn ended(e: &Ended) -> String {
    match e {
        Ended::Code(0) => "正常退出，退出码 0".to_string(),
        Ended::Code(c) => format!("退出码 {c}"),
        Ended::Signal(s) => format!("被信号 {} 杀死", s.as_str()),
    }
}

/// The tutorial calls buyer i `用户i`.
fn user(name: &str) -> String {
    match buyer_number(name) {
        Some(n) => format!("用户{n}"),
        None => name.to_string(),
    }
}

/// The events every lesson shares.
pub fn common(h: &Header, event: &Common) -> String {
    let me = h.name;
    match event {
        Common::Start { scenario } if me == "main" => format!(
            "主进程开始运行（{scenario}），父进程: {}，父进程父进程: {}",
            h.pid, h.ppid
        ),
        Common::Start {
            scenario: "spawn" | "join",
        } => format!("{me} is running {}，子进程父进程: {}", h.pid, h.ppid),
        Common::Start { .. } => format!(
            "{} 开始运行，子进程: {}，子进程父进程: {}",
            user(me),
            h.pid,
            h.ppid
        ),
        Common::Spawned { child, child_name } => {
            format!("p.start()：开启子进程 {child_name}，pid {child}")
        }
        Common::Exit {
            child,
            child_name,
            ended: e,
        } => format!(
            "回收子进程 {child_name}（pid {child}）：{}{}",
            ended(e),
            buyer_answer(child_name, e)
        ),
        Common::Stopping { signal, children } => format!(
            "收到 {}：停止并回收仍在运行的 {children} 个子进程",
            signal.as_str()
        ),
    }
}

/// A tickets buyer answers with its exit status; say what the number means.
fn buyer_answer(child_name: &str, e: &Ended) -> &'static str {
    if buyer_number(child_name).is_none() {
        return "";
    }
    match e {
        Ended::Code(code::SUCCESS) => "（它的回答：买到了票）",
        Ended::Code(code::SOLD_OUT) => "（它的回答：票已卖完，这不是出错）",
        _ => "",
    }
}

pub mod spawn {
    use super::*;
    use crate::lesson::spawn::{Event, Summary};

    pub const TEXT: LessonText = LessonText {
        explain: "spawn：父进程开启一个子进程，但不等它。注意输出的顺序：主进程打印自己的 pid \
            后马上继续往下执行，而 Process-1 还在自己运行，大约 3 秒后才打印 is over。\
            子进程的父进程 pid 就是主进程的 pid。主进程不等子进程就做完了自己的事，\
            但退出之前仍会用 waitpid(2) 回收每个子进程，所以不会留下僵尸进程或孤儿进程。",
        showed: "结论：p.start() 立即返回，父进程和子进程同时运行，父进程退出之前仍回收了子进程。",
    };

    pub fn event(h: &Header, e: &Event) -> String {
        match e {
            Event::NotWaiting { children } => format!(
                "主进程不等 {children} 个子进程，继续往下执行（异步）；\
                 退出之前仍会回收它们，不留孤儿进程"
            ),
            Event::Over => format!("{} is over {}，子进程父进程: {}", h.name, h.pid, h.ppid),
        }
    }

    pub fn summary(s: &Summary) -> String {
        format!(
            "完成：用 {} 开启了 {} 个子进程，全部已回收",
            s.method.as_str(),
            s.children
        )
    }
}

pub mod join {
    use super::*;
    use crate::lesson::join::{Event, Mode, Summary};

    pub const TEXT: LessonText = LessonText {
        explain: "join：三个子进程分别睡 0、1、2 秒，主进程用 join（waitpid(2)）等待每一个。\
            所有子进程都在第一次 join 之前开启，所以它们同时在睡：主进程的「主」大约 2 \
            秒后出现，是最长的睡眠，而不是总和 3 秒。加上 --sequential 就是开启一个、\
            join 一个，时间就加起来了。加上 --timeline 可以看到各行是重叠的，\
            还是一个接一个的。",
        showed: "结论：一起开启的子进程一起运行，所以 join 等待的时间约等于最长的那个，\
            而不是全部相加。",
    };

    fn mode(m: Mode) -> &'static str {
        match m {
            Mode::Parallel => "并行",
            Mode::Sequential => "逐个运行",
            Mode::NoJoin => "不 join",
        }
    }

    pub fn event(h: &Header, e: &Event) -> String {
        match e {
            Event::Over => format!("{} is over {}，子进程父进程: {}", h.name, h.pid, h.ppid),
            Event::MainDone { elapsed_ms, mode } => match mode {
                Mode::Parallel => format!(
                    "主 —— join 了所有子进程，用时 {}：是最长的睡眠，不是总和",
                    secs(*elapsed_ms)
                ),
                Mode::Sequential => format!(
                    "主 —— 开启一个、join 一个，用时 {}：是所有睡眠之和",
                    secs(*elapsed_ms)
                ),
                Mode::NoJoin => {
                    format!("主 —— 没有 join，{} 后就执行到了这里", secs(*elapsed_ms))
                }
            },
        }
    }

    pub fn summary(s: &Summary) -> String {
        format!(
            "完成：{} 个子进程，{}，共用时 {}",
            s.children,
            mode(s.mode),
            secs(s.elapsed_ms)
        )
    }
}

pub mod isolate {
    use super::*;
    use crate::child::Method;
    use crate::lesson::isolate::{Event, Summary};

    pub const TEXT: LessonText = LessonText {
        explain: "isolate：全局变量 money = 100。子进程把它改成 99999999 并打印出来；join \
            之后主进程读自己的 money：仍然是 100，因为进程与进程之间是隔离的，\
            每个进程都是一块独立的内存空间。用 --method fork 时子进程是主进程的拷贝，\
            两边打印的 money 地址相同，值却不同（写时复制）。默认的 --method exec \
            启动的是一个全新的程序，被装载到一个随机的地址（ASLR），\
            所以它的 money 在另一个地址，每次运行都不一样。最后子进程通过管道把它的值\
            发给主进程：数据不共享，但可以通过操作系统间接交互。",
        showed: "结论：子进程的内存是它自己的；主进程的 money 仍然是 100，\
            只有管道把子进程的值带了过来。",
    };

    pub fn event(h: &Header, e: &Event) -> String {
        match e {
            Event::MoneySet { value, address } => {
                format!(
                    "{} 修改了全局变量 money = {value}（地址 {address:#x}）",
                    h.name
                )
            }
            Event::PipeSent { value } => format!("{} 把 {value} 写入管道", h.name),
            Event::MoneyRead { value, address } => {
                format!("主进程 join 之后读自己的 money：{value}（地址 {address:#x}）")
            }
            Event::PipeReceived { value } => format!("主进程从管道读到 {value}"),
        }
    }

    pub fn summary(s: &Summary) -> String {
        let memory = match s.method {
            Method::Fork => {
                "同一个虚拟地址，两个不同的值：fork 给了子进程一份内存的拷贝，即写时复制"
            }
            Method::Exec => "exec 启动了一个全新的程序，有它自己的内存，装载在另一个地址",
        };
        format!(
            "完成：子进程的 money 是 {}，主进程的仍然是 {}（{memory}）；{}",
            s.child_value,
            s.parent_value,
            s.received
                .map_or("管道里什么也没收到".to_string(), |v| format!(
                    "通过管道收到了 {v}"
                ))
        )
    }
}

pub mod daemon {
    use super::*;
    use crate::lesson::daemon::{Event, Summary};

    pub const TEXT: LessonText = LessonText {
        explain: "daemon：子进程每 3 秒说一次「总管正常活着」，永远不停；主进程每隔 0.1 \
            秒打印一行「皇帝jason寿正终寝」，十行之后结束。注意子进程是怎么结束的：\
            它是守护进程，随着主进程的结束而结束，主进程一做完就用 SIGTERM 结束它\
            （即使主进程被 SIGKILL 杀死，内核也会结束它）。加上 --no-daemon \
            它就是普通的子进程：说三次之后自己结束，主进程等待它。",
        showed: "结论：守护进程不会比主进程活得更久；主进程一做完，它就被信号结束了。",
    };

    pub fn event(h: &Header, e: &Event) -> String {
        match e {
            Event::Alive { tick } => format!("{}总管正常活着（第 {tick} 次）", h.name),
            Event::Tick { tick, of } => format!("皇帝jason寿正终寝（{tick}/{of}）"),
            Event::Terminating {
                child,
                child_name,
                signal,
            } => format!(
                "主进程结束：向守护进程 {child_name}（pid {child}）发送 {}，\
                 守护进程随主进程的结束而结束",
                signal.as_str()
            ),
        }
    }

    pub fn summary(s: &Summary) -> String {
        let pid = s.child_pid;
        match (s.daemon, s.child_terminated_by) {
            (true, Some(sig)) => format!(
                "完成：守护进程 {pid} 在主进程结束时被 {} 结束",
                sig.as_str()
            ),
            (_, Some(sig)) => format!("完成：子进程 {pid} 被 {} 结束", sig.as_str()),
            (_, None) => format!("完成：子进程 {pid} 自己结束，主进程等待了它"),
        }
    }
}

pub mod tickets {
    use super::*;
    use crate::lesson::tickets::{Event, Summary};

    pub const TEXT: LessonText = LessonText {
        explain: "tickets：多个用户进程共用一个票数文件。每个用户先查票（不加锁读出余票），\
            再在排他的 flock(2) 锁下买票：读出票数，睡 1 秒，还有票就减一，写回，\
            释放锁。注意锁是怎样从一个用户传到下一个用户的：抢票成功的人数和票数一样多。\
            加上 --no-lock，所有用户在任何人写回之前都读到同样的票数，\
            卖出的票比实际的多。",
        showed: "结论：锁让用户们轮流买票，所以没有一张票被卖两次；运行 \
            `procdemo tickets --tickets 1 --no-lock` 看看锁所防止的竞争。",
    };

    pub fn event(h: &Header, e: &Event) -> String {
        let me = user(h.name);
        match e {
            Event::Reset { tickets } => format!("加锁把票数设为 {tickets}"),
            Event::TempsCleaned { count } => {
                format!("删除了被杀死的写入者留下的 {count} 个临时文件")
            }
            Event::AlreadySoldOut { data } => format!(
                "{} 里已经没有票了，每个用户都会买不到；要放回一张票，运行 `{}`",
                data.display(),
                crate::ticketfile::reset_command(data)
            ),
            Event::Search { remaining } => format!("{me}查询余票为:{remaining}"),
            Event::LockWait => format!("{me}等待抢锁"),
            Event::LockAcquired => format!("{me}抢到了锁"),
            Event::LockReleased => format!("{me}释放了锁"),
            Event::Bought { remaining } => format!("{me}抢票成功（余票 {remaining}）"),
            Event::SoldOut => format!("{me}: 没票了"),
        }
    }

    pub fn summary(s: &Summary) -> String {
        let Summary {
            buyers,
            initial,
            sold,
            remaining,
            oversold,
            lock,
        } = s;
        let base = format!(
            "完成：{buyers} 个用户，开始时 {initial} 张票，卖出 {sold} 张，剩余 {remaining} 张"
        );
        let gone = initial.saturating_sub(*remaining);
        match (oversold, lock) {
            (false, _) => base,
            (true, false) => format!(
                "{base}：超卖了 {} 张！{sold} 个用户被告知抢票成功，文件里的票数却只减少了 \
                 {gone}：没有锁，用户们在任何人写回之前读到了同样的票数，\
                 每个人写回的新票数都覆盖了别人的（更新丢失）",
                sold.saturating_sub(gone)
            ),
            (true, true) => format!("{base}：加了锁还超卖，这是 bug"),
        }
    }
}

pub mod queue {
    use super::*;
    use crate::lesson::queue::{Event, Summary};

    pub const TEXT: LessonText = LessonText {
        explain: "queue：生产者消费者模型。两个生产者进程往同一个队列里放数据，\
            两个消费者进程从队列里取出数据来处理，处理得比生产慢；队列最多放 3 个数据。\
            这个队列是内核对象，POSIX 消息队列（mq_send、mq_receive），等待由内核完成：\
            生产者发现队列满了，就等到消费者取走一个；消费者发现队列空了，\
            就等到生产者放进一个。注意那些「等着」的行，或者加上 --timeline \
            看看谁在什么时候等。两个生产者都做完以后，主进程给每个消费者放一个结束标志\
            （Python 的 None），消费者取到结束标志就下班。每个数据恰好被处理一次，\
            同一个生产者的数据按它放入的顺序被取出。",
        showed: "结论：彼此从不直接通信的进程通过一个队列分担了工作；队列满了生产者等，\
            队列空了消费者等，每个数据都恰好经过一次，而且按顺序。",
    };

    pub fn event(h: &Header, e: &Event) -> String {
        let me = h.name;
        match e {
            Event::QueueOpen { queue, capacity } => format!(
                "主进程创建了队列 {queue}，一个最多放 {capacity} 个数据的 POSIX 消息队列，\
                 随即删除了它的名字：只要还有进程打开着它，它就在"
            ),
            Event::QueueFull { item: Some(item) } => {
                format!("{me}: 队列满了，等着放入{item}")
            }
            Event::QueueFull { item: None } => "主进程: 队列满了，等着放入结束标志".to_string(),
            Event::Put { item } => format!("{me}生产了{item}，放入队列"),
            Event::QueueEmpty => format!("{me}: 队列空了，等着"),
            Event::Got { item } => format!("{me}取出了{item}，开始处理"),
            Event::QueueEnd => format!("{me}: 没有了，下班"),
            Event::EndMarker => "主进程放入一个结束标志 None（每个消费者一个）".to_string(),
        }
    }

    pub fn summary(s: &Summary) -> String {
        let base = format!(
            "完成：{} 个生产者放入 {} 个数据，{} 个消费者取出 {} 个，队列容量 {}",
            s.producers, s.put, s.consumers, s.got, s.capacity
        );
        if s.lost == 0 && s.duplicated == 0 && s.in_order {
            format!("{base}：每个数据恰好一次，每个生产者的数据都按顺序")
        } else {
            format!(
                "{base}：丢失 {} 个，重复 {} 个，{}",
                s.lost,
                s.duplicated,
                if s.in_order {
                    "顺序正确"
                } else {
                    "顺序错乱"
                }
            )
        }
    }
}

pub mod pool {
    use super::*;
    use crate::lesson::pool::{Event, Mode, Summary};
    use crate::messages::python_list;

    pub const TEXT: LessonText = LessonText {
        explain: "pool：进程池，即 Python 的 Pool(3).map(f, range(10))，\
            f 睡一会儿之后返回参数的平方。开设进程要花时间，所以进程池只开 3 \
            个工作进程，每个进程从同一个管道里一个接一个地领任务，直到没有任务为止。\
            注意 pid：十个任务都是同样的三个进程做的。结果从另一个管道送回来，\
            完成的先后不定，主进程把每个结果放到它的任务的位置上，\
            所以结果按任务的顺序排列。加上 --no-pool，每个任务都开一个新进程：\
            十个 pid，开了十次进程。",
        showed: "结论：几个只开了一次的进程做完了所有任务，\
            不管完成的先后，结果都按任务的顺序返回。",
    };

    pub fn event(h: &Header, e: &Event) -> String {
        match e {
            Event::TaskDone { task, result } => {
                format!("{} 处理任务 {task}，结果 {result}", h.pid)
            }
        }
    }

    pub fn summary(s: &Summary) -> String {
        let how = match s.mode {
            Mode::Pool => format!("{} 个工作进程的进程池", s.workers),
            Mode::NoPool => "每个任务一个新进程".to_string(),
        };
        format!(
            "完成：{}；{} 个进程完成了 {} 个任务（{how}），用时 {}",
            python_list(&s.results, 20),
            s.pids,
            s.tasks,
            secs(s.elapsed_ms)
        )
    }
}

pub mod shared {
    use super::*;
    use crate::lesson::shared::{Event, Mode, Summary};

    pub const TEXT: LessonText = LessonText {
        explain: "shared：isolate 的续篇。在 isolate 里每个进程都有自己的 money。\
            这里主进程在一页内存里放一个整数，每个工作进程都把这一页映射进来\
            （memfd_create，再用 MAP_SHARED 做 mmap）：每个进程看到的地址各不相同，\
            看到的却是同一页、同一个值。4 个工作进程各自给它加 1，加 100000 次，\
            每次都是先读出来再写回去。默认每次加 1 都持有一把锁，\
            一个放在同一页里的进程间共享的互斥锁，结果分毫不差。加上 --no-lock，\
            两个进程可能读到同一个值，又都写回这个值加一：更新丢失了，\
            总结会说丢了多少。加上 --atomic，每次加 1 都是一条原子指令：不用锁，也分毫不差。",
        showed: "结论：所有工作进程映射的是同一页内存，有锁的时候计数分毫不差；\
            运行 `procdemo shared --no-lock` 看看锁所防止的更新丢失。",
    };

    pub fn event(h: &Header, e: &Event) -> String {
        let me = h.name;
        match e {
            Event::Mapped {
                address,
                inode,
                value,
            } if me == "main" => format!(
                "主进程创建了共享页（内存文件 inode {inode}）并映射进来：\
                 值 {value}，地址 {address:#x}"
            ),
            Event::Mapped {
                address,
                inode,
                value,
            } => format!(
                "{me}映射了同一页（inode {inode}），在它自己的地址 {address:#x}：值 {value}"
            ),
            Event::Go { workers } => {
                format!("主进程：{workers} 个工作进程都准备好了，关闭它们等待的管道：开始！")
            }
            Event::LockRecovered => {
                format!("{me}: 锁的上一个持有者拿着锁死了，内核把锁交了过来，已恢复为一致状态")
            }
            Event::Added { adds } => format!("{me}做完了：加了 {adds} 次 1"),
        }
    }

    pub fn summary(s: &Summary) -> String {
        let base = format!(
            "完成：{} 个进程 × {} 次，期望 {}，实际 {}，丢失 {}",
            s.workers, s.adds, s.expected, s.r#final, s.lost
        );
        match (s.mode, s.lost) {
            (Mode::Lock, 0) => format!("{base}：有锁，分毫不差"),
            (Mode::Atomic, 0) => format!("{base}：每次一条原子加法，不用锁，分毫不差"),
            (Mode::NoLock, 0) => format!(
                "{base}：这一次碰巧没有丢失更新，但没有任何东西防止它；再运行一次，\
                 或者加大 --adds"
            ),
            (Mode::NoLock, _) => format!(
                "{base}：没有锁，几个进程读到同一个值，各自加一写回，\
                 覆盖了别人的结果（更新丢失）"
            ),
            (_, _) => format!("{base}：有工作进程没做完就结束了"),
        }
    }
}

/// 中文.
pub struct Chinese;

static CHART: ChartWords = ChartWords {
    started: "开始",
    running: "运行",
    lock_wait: "等锁",
    lock_hold: "持有锁",
    unlocked: "无锁读到写",
    queue_wait: "等队列",
    zombie: "僵尸：已退出，未回收",
    ended: "结束",
    killed: "被信号杀死",
    main_done: "完成",
    bought: "抢票成功",
    sold_out: "没票了",
    unknown: "?",
    title: |lesson, span_ms, column_ms| {
        format!(
            "{lesson} 的时间线：共 {} 秒，每列 {} 毫秒",
            trim_number(span_ms / 1000.0, 3),
            trim_number(column_ms, 1)
        )
    },
    exit: |code| format!("退出码 {code}"),
    more: |rows| format!("…… 还有 {rows} 个进程没有画出"),
    seconds: "秒",
};

impl Words for Chinese {
    fn tour_intro(&self, scale: f64) -> String {
        format!(
            "procdemo 导览：多进程教程里的五个例子，每一个都用真实的进程、真实的 pid \
             和真实的系统调用。所有睡眠时间都乘以 {scale}，整个导览只需几秒钟。\
             每一部分先说明要注意什么，然后运行，最后总结它说明了什么。\
             每一行都标出它来自哪个进程：时间、名字、pid。"
        )
    }

    fn tour_heading(&self, n: usize, of: usize, lesson: &str) -> String {
        format!("── 第 {n}/{of} 部分：{lesson} ──")
    }

    fn tour_outro(&self) -> &'static str {
        "导览结束。每个场景还有更多可以尝试的：`procdemo <场景> --help` 列出它的选项和例子，\
         --timeline 把所有进程画在同一条时间轴上。"
    }

    fn chart(&self) -> &'static ChartWords {
        &CHART
    }
}
