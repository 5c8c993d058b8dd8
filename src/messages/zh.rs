//! 中文. Where the tutorial prints a line, the same words are used: `用户3查询余票为:1`,
//! `用户3抢票成功`, `没票了`, `主`, `总管正常活着`, `皇帝jason寿正终寝`, `子进程父进程:`;
//! `spawn` and `join` children say `Process-1 is running` / `is over`, in English, as the
//! tutorial's examples print them. Everything else is plain Chinese.
//!
//! One module per lesson, in the registry's order, as in `en.rs`.

use crate::child::Method;
use crate::error::code;
use crate::event::{Common, Ended, Header};
use crate::messages::{buyer_number, Words};
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

/// When the tutorial's `seconds`, scaled, will have passed.
fn later(seconds: f64, scale: f64) -> String {
    match seconds * scale {
        0.0 => "马上（--time-scale 0：不睡眠）".to_owned(),
        t => format!("大约 {} 秒后", trim_number(t, 3)),
    }
}

/// What `--method` is in Python's words.
fn method(m: Method) -> &'static str {
    match m {
        Method::Exec => {
            "（--method 就是 Python 的启动方式：spawn 和 forkserver 启动一个全新的程序，\
             就像 --method exec 用 fork + execve 做的那样；fork 复制父进程，就像 --method fork。\
             Python 3.14 在 Linux 上把默认方式改成了 forkserver。）"
        }
        Method::Fork => {
            "（--method 就是 Python 的启动方式：--method fork 就是 Python 的 fork，复制父进程；\
             spawn 和 forkserver 就像 --method exec，启动一个全新的程序。\
             Python 3.14 在 Linux 上把默认方式改成了 forkserver。）"
        }
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

/// A question's choices, for `question` in each lesson's module.
fn choices(c: &[&str]) -> Option<Vec<String>> {
    Some(c.iter().map(|s| s.to_string()).collect())
}

pub mod spawn {
    use super::*;
    use crate::lesson::spawn::Question;
    use crate::lesson::spawn::{Args, Event, Summary};
    use crate::quiz::ask::Drawn;
    use crate::quiz::data::Text;

    pub const ABOUT: &str = "开启子进程，父进程不等它们（教程第 1 部分）";
    pub const OPTIONS: &[(&str, &str)] = &[
        ("count", "开启几个子进程"),
        ("method", "怎样创建每个子进程"),
    ];
    pub const SHOWED: &str =
        "结论：p.start() 立即返回，父进程和子进程同时运行，父进程退出之前仍回收了子进程。";

    pub fn explain(a: &Args, scale: f64) -> String {
        format!(
            "spawn：父进程开启 {} 个子进程，但不等它们。注意输出的顺序：主进程打印自己的 pid \
             后马上继续往下执行，而 Process-1 还在自己运行，{}才打印 is over。\
             子进程的父进程 pid 就是主进程的 pid。主进程不等子进程就做完了自己的事，\
             但退出之前仍会用 waitpid(2) 回收每个子进程，所以不会留下僵尸进程或孤儿进程。{}",
            a.count,
            later(3.0, scale),
            method(a.method)
        )
    }

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

    /// What the quiz asks about this lesson.
    pub fn question(q: Question, d: Drawn) -> Text {
        let n = d.n;
        match q {
            Question::Parent => Text::new(
                format!("主进程开启 {n} 个子进程，但不等它们。"),
                "每个子进程报告的父进程 pid 是谁的？".to_owned(),
                choices(&["主进程的 pid", "每个子进程各不相同", "1，init 的 pid"]),
                "子进程的父进程就是创建它的进程：调用 fork(2) 的进程就是父进程。".to_owned(),
            ),
        }
    }
}

pub mod join {
    use super::*;
    use crate::lesson::join::Question;
    use crate::lesson::join::{Args, Event, Mode, Summary};
    use crate::quiz::ask::Drawn;
    use crate::quiz::data::Text;

    pub const ABOUT: &str = "开启子进程并用 join 等待每一个：用时是最长的，不是总和（第 2 部分）";
    pub const OPTIONS: &[(&str, &str)] = &[
        ("count", "几个子进程；第 i 个睡 i 秒（0、1、2……）"),
        ("sequential", "开启一个、join 一个：用时变成总和"),
        (
            "no_join",
            "不 join：主进程马上打印（退出之前仍会回收子进程）",
        ),
    ];
    pub const SHOWED: &str =
        "结论：一起开启的子进程一起运行，所以 join 等待的时间约等于最长的那个，\
        而不是全部相加。";

    pub fn explain(a: &Args, scale: f64) -> String {
        let n = a.count as f64;
        let (longest, sum) = (
            (n - 1.0) * scale * 1000.0,
            n * (n - 1.0) / 2.0 * scale * 1000.0,
        );
        let start = format!(
            "join：{} 个子进程，第 i 个睡 i 秒（0、1、2……，再乘以 --time-scale {scale}），\
             主进程用 join（也就是 waitpid(2)）等待每一个。",
            a.count
        );
        let rest = match a.mode() {
            Mode::Parallel => format!(
                "所有子进程都在第一次 join 之前开启，所以它们同时在睡：主进程的「主」大约 {}\
                 后出现，是最长的睡眠，而不是总和 {}。加上 --sequential 就是开启一个、\
                 join 一个，时间就加起来了。加上 --timeline 可以看到各行是重叠的。",
                secs(longest),
                secs(sum)
            ),
            Mode::Sequential => format!(
                "加上了 --sequential：开启一个、join 一个，所以睡眠时间加起来，大约 {}，\
                 而不是最长的 {}。加上 --timeline 可以看到各行一个接一个。",
                secs(sum),
                secs(longest)
            ),
            Mode::NoJoin => "加上了 --no-join：主进程不等子进程就打印「主」，子进程还在睡。\
                 它退出之前仍会回收每个子进程（摘要在最后），不留僵尸进程。"
                .to_owned(),
        };
        format!("{start}{rest}")
    }

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
                    format!("主 —— 没有 join，{}后就执行到了这里", secs(*elapsed_ms))
                }
            },
        }
    }

    pub fn summary(s: &Summary) -> String {
        match s.mode {
            Mode::NoJoin => format!(
                "完成：{} 个子进程，不 join：主进程 {}后就继续往下执行，最后才回收它们",
                s.children,
                secs(s.elapsed_ms)
            ),
            m => format!(
                "完成：{} 个子进程，{}，join 共用时 {}",
                s.children,
                mode(m),
                secs(s.elapsed_ms)
            ),
        }
    }

    /// What the quiz asks about this lesson.
    pub fn question(q: Question, d: Drawn) -> Text {
        let n = d.n;
        match q {
            Question::Parallel => Text::new(
                format!("{n} 个子进程分别睡 0、1……{} 秒（按比例缩短）；先全部开启，再逐个 join。", n - 1),
                "主进程在 join 里大约等多久（按教程里的秒数）？".to_owned(),
                Some(vec![
                    format!("大约 {} 秒，最长的睡眠", n - 1),
                    format!("大约 {} 秒，所有睡眠之和", n * (n - 1) / 2),
                ]),
                "子进程同时在睡：join 等的是最长的那个，其余的 join 马上就返回。".to_owned(),
            ),
            Question::Sequential => Text::new(
                format!(
                    "{n} 个子进程分别睡 0、1……{} 秒（按比例缩短）；开启一个、join 一个（--sequential）。",
                    n - 1
                ),
                "主进程在 join 里大约等多久（按教程里的秒数）？".to_owned(),
                Some(vec![
                    format!("大约 {} 秒，最长的睡眠", n - 1),
                    format!("大约 {} 秒，所有睡眠之和", n * (n - 1) / 2),
                ]),
                "一次只有一个子进程：前一个结束之后下一个才开始睡，所以时间加起来。".to_owned(),
            ),
        }
    }
}

pub mod isolate {
    use super::*;
    use crate::lesson::isolate::Question;
    use crate::lesson::isolate::{Args, Event, Summary};
    use crate::quiz::ask::Drawn;
    use crate::quiz::data::Text;

    pub const ABOUT: &str = "子进程修改了全局变量，父进程里的仍然不变（第 3 部分）";
    pub const OPTIONS: &[(&str, &str)] = &[
        ("method", "怎样创建子进程"),
        ("value", "子进程存进它的 money 的值"),
    ];
    pub const SHOWED: &str = "结论：子进程的内存是它自己的；主进程的 money 仍然是 100，\
        只有管道把子进程的值带了过来。";

    pub fn explain(a: &Args, _scale: f64) -> String {
        let how = match a.method {
            Method::Exec => {
                "这里用的是 --method exec：子进程是一个全新的程序，被内核装载到一个随机的地址\
                 （ASLR），所以它的 money 和主进程的不在同一个地址，每次运行都不一样。\
                 用 --method fork 时子进程是主进程的拷贝，两边的 money 地址相同，值却不同\
                 ——写时复制。"
            }
            Method::Fork => {
                "这里用的是 --method fork：子进程是主进程的拷贝，两边打印的 money 地址相同，\
                 值却不同，因为子进程一写，内核就给了它一份自己的内存页——写时复制。"
            }
        };
        format!(
            "isolate：全局变量 money = 100。子进程把它改成 {} 并打印出来；join \
             之后主进程读自己的 money：仍然是 100，因为进程与进程之间是隔离的，\
             每个进程都是一块独立的内存空间。{how}最后子进程通过管道把它的值发给主进程：\
             数据不共享，但可以通过操作系统间接交互。{}",
            a.value,
            method(a.method)
        )
    }

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

    /// What the quiz asks about this lesson.
    pub fn question(q: Question, d: Drawn) -> Text {
        let n = d.n;
        match q {
            Question::Money => Text::new(
                format!("全局变量 money = 100；子进程把它改成 {n}，主进程 join 它。"),
                "然后主进程读自己的 money，是多少？（一个数）".to_owned(),
                None,
                "子进程改的是它自己的那一份：每个进程都有自己独立的内存。".to_owned(),
            ),
            Question::ForkAddress => Text::new(
                "子进程只用 fork 创建，然后修改 money；两边都打印 money 的地址。".to_owned(),
                "两边打印的地址一样吗？".to_owned(),
                choices(&["地址一样", "地址不一样"]),
                "fork 复制整个地址空间：同一个虚拟地址，在两块不同的内存里（写时复制）。"
                    .to_owned(),
            ),
        }
    }
}

pub mod daemon {
    use super::*;
    use crate::lesson::daemon::Question;
    use crate::lesson::daemon::{Args, Event, KillMain, Summary};
    use crate::quiz::ask::Drawn;
    use crate::quiz::data::Text;

    pub const ABOUT: &str = "守护进程随主进程的结束而结束（第 4 部分）";
    pub const OPTIONS: &[(&str, &str)] = &[
        (
            "no_daemon",
            "让子进程成为普通的子进程：说三次就结束，主进程等待它",
        ),
        ("ticks", "主进程结束之前打印几行，每行相隔 0.1 秒"),
    ];
    pub const SHOWED: &str = "结论：守护进程不会比主进程活得更久；主进程一做完，它就被信号结束了。";

    pub fn explain(a: &Args, scale: f64) -> String {
        let main = format!(
            "daemon：子进程每 {} 说一次「总管正常活着」；主进程每隔 {} 打印一行\
             「皇帝jason寿正终寝」，{} 行之后结束。",
            secs(3000.0 * scale),
            secs(100.0 * scale),
            a.ticks
        );
        if a.kill_main {
            let python = if a.like_python {
                "加上了 --like-python，守护进程就像 CPython 的那样不要这个信号：它成了孤儿进程，\
                 继续说「总管正常活着」，父进程换成了主进程（主进程是子进程收割者，\
                 孤儿归它而不归 init）。两次之后主进程结束它；换成 Python，它会一直运行下去。"
            } else {
                "再加上 --like-python，守护进程就像 CPython 的那样不要这个信号。"
            };
            return format!(
                "daemon --kill-main：三代进程。主进程在一旁看着，Process-1 扮演教程里的主进程，\
                 Process-2 扮演它的守护进程，每 {} 说一次「总管正常活着」。Process-1 \
                 打印几行之后，主进程用 SIGKILL 杀死它：它再也不能运行任何代码，\
                 没法亲手结束守护进程；可是 Process-2 在一秒之内也死了，因为它事先请内核\
                 在父进程死时给它发 SIGKILL（prctl(PR_SET_PDEATHSIG)）。{python}",
                secs(3000.0 * scale)
            );
        }
        if a.no_daemon {
            return format!(
                "{main}加上了 --no-daemon：子进程是普通的子进程，说三次之后自己结束，\
                 主进程等待它，就像 Python 在退出之前等待非守护进程一样。"
            );
        }
        format!(
            "{main}注意子进程是怎么结束的：它是守护进程，主进程一做完就用 SIGTERM 结束它。\
             正常退出时 Python 也是这样做的；但如果主进程被 SIGKILL 杀死，CPython 的 \
             daemon=True 子进程就成了孤儿，继续运行。procdemo 的子进程向内核申请了 \
             PR_SET_PDEATHSIG（prctl(2)），所以即使这样也会随父进程结束（试试 \
             `procdemo daemon --kill-main --like-python`）。加上 --no-daemon \
             它就是普通的子进程，主进程等待它。"
        )
    }

    pub fn event(h: &Header, e: &Event) -> String {
        match e {
            Event::Alive { tick } => {
                format!("{}总管正常活着（第 {tick} 次），父进程: {}", h.name, h.ppid)
            }
            Event::Tick { tick, of } if h.name == "main" => {
                format!("皇帝jason寿正终寝（{tick}/{of}）")
            }
            Event::Tick { tick, of } => {
                format!(
                    "{}（教程里的主进程）：皇帝jason寿正终寝（{tick}/{of}）",
                    h.name
                )
            }
            Event::Terminating {
                child,
                child_name,
                signal,
            } => format!(
                "主进程结束：向守护进程 {child_name}（pid {child}）发送 {}，\
                 守护进程随主进程的结束而结束",
                signal.as_str()
            ),
            Event::KilledMain { child, child_name } => format!(
                "主进程用 SIGKILL 杀死扮演教程主进程的 {child_name}（pid {child}）：\
                 它再也不能运行任何代码，没法亲手结束它的守护进程"
            ),
            Event::EndingOrphan {
                child,
                child_name,
                signal,
            } => format!(
                "{child_name}（pid {child}）比父进程活得久，成了孤儿还在运行：\
                 没有父进程死亡信号，就没有谁来结束它，换成 Python 它会一直运行下去。\
                 主进程现在用 {} 结束它",
                signal.as_str()
            ),
        }
    }

    pub fn summary(s: &Summary) -> String {
        let pid = s.child_pid;
        if let Some(k) = &s.kill_main {
            return kill_main(s, k);
        }
        match (s.daemon, s.child_terminated_by) {
            (true, Some(sig)) => format!(
                "完成：守护进程 {pid} 在主进程结束时被 {} 结束",
                sig.as_str()
            ),
            (_, Some(sig)) => format!("完成：子进程 {pid} 被 {} 结束", sig.as_str()),
            (_, None) => format!("完成：子进程 {pid} 自己结束，主进程等待了它"),
        }
    }

    fn kill_main(s: &Summary, k: &KillMain) -> String {
        let pid = s.child_pid;
        let after = format!("{} 毫秒", trim_number(k.outlived_ms, 1));
        let how = s.child_terminated_by.map_or("自己退出".to_string(), |sig| {
            format!("被 {} 结束", sig.as_str())
        });
        if k.like_python {
            format!(
                "完成：Process-1 被 SIGKILL 杀死；它的守护进程 Process-2（pid {pid}）\
                 成了孤儿，被主进程（子进程收割者）收养，继续运行；{after}之后它{how}，\
                 是主进程结束了它。换成 Python，它会一直运行下去"
            )
        } else if k.orphaned {
            format!(
                "完成：Process-1 被 SIGKILL 杀死；它的守护进程 Process-2（pid {pid}）\
                 成了孤儿还运行了一会儿，{after}之后{how}"
            )
        } else {
            format!(
                "完成：Process-1 被 SIGKILL 杀死，它的守护进程 Process-2（pid {pid}）\
                 {after}之后{how}，是内核发的：它事先用 prctl(PR_SET_PDEATHSIG) \
                 要求了这个信号，所以守护进程随着主进程的结束而结束"
            )
        }
    }

    /// What the quiz asks about this lesson.
    pub fn question(q: Question, d: Drawn) -> Text {
        let n = d.n;
        match q {
            Question::Ends => Text::new(
                format!("守护进程每 3 秒说一次总管正常活着；主进程打印 {n} 行之后就做完了。"),
                "然后守护进程会怎样？".to_owned(),
                choices(&["主进程用信号结束它", "它自己继续运行", "主进程等它自己结束"]),
                "守护进程不会比主进程活得更久：主进程做完时用 SIGTERM 结束它。".to_owned(),
            ),
            Question::Ordinary => Text::new(
                format!("同样，但加上 --no-daemon：普通的子进程说三次活着；主进程打印 {n} 行。"),
                "主进程做完时，子进程会怎样？".to_owned(),
                choices(&["主进程用信号结束它", "它自己继续运行", "主进程等它自己结束"]),
                "普通的子进程会被 join：主进程退出之前等待它。".to_owned(),
            ),
        }
    }
}

pub mod tickets {
    use super::*;
    use crate::lesson::tickets::Question;
    use crate::lesson::tickets::{Args, Event, KillHolder, Summary};
    use crate::quiz::ask::Drawn;
    use crate::quiz::data::Text;

    pub const ABOUT: &str = "用户们抢同一个文件里的票；排他的 flock 锁保证票数正确（第 5 部分）";
    pub const OPTIONS: &[(&str, &str)] = &[
        ("buyers", "几个用户进程"),
        ("tickets", "先（加锁）把文件里的票数设为 N"),
        ("data", "票数文件；它的锁文件是这个路径加上 .lock"),
        ("no_lock", "不加锁，看看锁所防止的竞争"),
    ];
    pub const SHOWED: &str = "结论：锁让用户们轮流买票，所以没有一张票被卖两次；运行 \
        `procdemo tickets --tickets 1 --no-lock` 看看锁所防止的竞争。";

    pub fn explain(a: &Args, scale: f64) -> String {
        let tickets = match a.tickets {
            Some(n) => format!("{n} 张票"),
            None => "文件里现有的票".to_owned(),
        };
        let start = format!(
            "tickets：{} 个用户进程共用一个票数文件 {}，里面有{tickets}。每个用户先查票\
             （不加锁读出余票），再买票：读出票数，睡 {}，还有票就减一，写回。",
            a.buyers,
            crate::quote::shell_quote(&a.data),
            secs(1000.0 * scale)
        );
        if a.kill_holder {
            return format!(
                "{start}加上 --kill-holder，在用户们排队抢锁的时候，主进程在 /proc/locks\
                 （lslocks 显示的就是它）里找到持有锁的用户，在它买票的中途用 SIGKILL \
                 杀死它：进程一死，内核就关闭它的文件，它的 flock 锁也就释放了，\
                 其他用户照常抢锁买票，文件完好无损。换成 Python 的 multiprocessing.Lock，\
                 锁会一直被占着，其他用户永远等下去。"
            );
        }
        let rest = if a.no_lock {
            "加上了 --no-lock，谁都不加锁：注意用户们在任何人写回之前都读到同样的票数，\
             被告知抢票成功的人比票数减少的多（更新丢失），摘要会说多了几张。"
        } else {
            "买票是在数据文件旁边的锁文件上加排他的 flock(2) 锁之后进行的：注意锁是怎样\
             从一个用户传到下一个用户的，抢票成功的人数和票数一样多。用户用退出码回答：\
             0 是买到了，3 是没票了（这是回答，不是出错）；主进程按它们退出的顺序回收。\
             加上 --no-lock 看看锁所防止的竞争。"
        };
        format!("{start}{rest}")
    }

    pub fn event(h: &Header, e: &Event) -> String {
        let me = user(h.name);
        match e {
            Event::Reset { tickets } => format!("加锁把票数设为 {tickets}"),
            Event::TempsCleaned { count } => {
                format!("删除了被杀死的写入者留下的 {count} 个临时文件")
            }
            Event::AlreadySoldOut { data } => format!(
                "{} 里已经没有票了，每个用户都会买不到；要放回一张票，运行 `{}`",
                crate::quote::shell_quote(data),
                crate::ticketfile::reset_command(data)
            ),
            Event::Search { remaining } => format!("{me}查询余票为:{remaining}"),
            Event::LockWait => format!("{me}等待抢锁"),
            Event::LockAcquired => format!("{me}抢到了锁"),
            Event::LockReleased => format!("{me}释放了锁"),
            Event::Bought { remaining } => format!("{me}抢票成功（余票 {remaining}）"),
            Event::SoldOut => format!("{me}: 没票了"),
            Event::KilledHolder { child, child_name } => format!(
                "主进程在 /proc/locks（lslocks 显示的就是它）里找到抢到锁的{}（pid {child}），\
                 在它买票的中途用 SIGKILL 杀死它：内核关闭它的文件，锁也就释放了",
                user(child_name)
            ),
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
            unconfirmed,
            kill_holder,
        } = s;
        let base = format!(
            "完成：{buyers} 个用户，开始时 {initial} 张票，卖出 {sold} 张，剩余 {remaining} 张"
        );
        let gone = initial.saturating_sub(*remaining);
        let mut text = match (oversold, lock) {
            (false, _) => base,
            (true, false) => format!(
                "{base}：超卖了 {} 张！{sold} 个用户被告知抢票成功，文件里的票数却只减少了 \
                 {gone}：没有锁，用户们在任何人写回之前读到了同样的票数，\
                 每个人写回的新票数都覆盖了别人的（更新丢失）",
                sold.saturating_sub(gone)
            ),
            (true, true) => format!("{base}：加了锁还超卖，这是 bug"),
        };
        if *unconfirmed > 0 {
            text.push_str(&format!(
                "；另有 {unconfirmed} 张票未确认：有用户在拿到票（rename 完成）之后、\
                 回答之前被杀死了"
            ));
        }
        match kill_holder {
            Some(KillHolder { killed: Some(name) }) => text.push_str(&format!(
                "。{}在持有锁的时候被杀死：内核释放了锁，其他用户照常抢锁买票，文件完好无损。\
                 换成 Python 的 multiprocessing.Lock，锁会一直被占着，其他用户永远等下去",
                user(name)
            )),
            Some(KillHolder { killed: None }) => text.push_str(
                "。没有抓到持有锁的用户，所以没有人被杀死：在这个 --time-scale 下，\
                 买票一眨眼就完成了；试试 --time-scale 0.1",
            ),
            None => {}
        }
        text
    }

    /// What the quiz asks about this lesson.
    pub fn question(q: Question, d: Drawn) -> Text {
        let Drawn { n, m } = d;
        let locked = || format!("{n} 个用户，{m} 张票，加锁。");
        match q {
            Question::Sold => Text::new(
                locked(),
                "几个用户能抢到票？（一个数）".to_owned(),
                None,
                "加了锁，用户们轮流买，还有票时每人拿一张。".to_owned(),
            ),
            Question::SoldOut => Text::new(
                locked(),
                "几个用户用退出码 3 回答「没票了」？（一个数）".to_owned(),
                None,
                "每个用户都会回答：最后一张票之后来的用户发现没票了。".to_owned(),
            ),
            Question::WholeFile => Text::new(
                format!("{n} 个用户，{m} 张票，不加锁（--no-lock）：他们在竞争。"),
                "用户会读到写了一半的票数文件吗？".to_owned(),
                choices(&[
                    "不会：每个用户读到的都是完整的文件",
                    "会：可能读到写了一半的文件",
                ]),
                "每次写都先写临时文件，再用 rename(2) 换上去：读的人看到的要么是旧文件，\
                 要么是新文件，不会是半个。竞争会丢失更新，但不会弄坏文件。"
                    .to_owned(),
            ),
        }
    }
}

pub mod zombie {
    use super::*;
    use crate::lesson::zombie::Question;
    use crate::lesson::zombie::{Args, Event, Summary};
    use crate::quiz::ask::Drawn;
    use crate::quiz::data::Text;

    pub const ABOUT: &str = "已经退出、还没被回收的子进程：僵尸进程，ps 里的 <defunct>";
    pub const OPTIONS: &[(&str, &str)] = &[
        ("count", "几个子进程；它们同时退出"),
        (
            "hold",
            "主进程让它们保持僵尸状态、不回收的秒数（0 到 3600，乘以 --time-scale）",
        ),
    ];
    pub const SHOWED: &str =
        "结论：子进程结束之后，在父进程回收它之前一直是僵尸进程；任何信号都去不掉它，\
            只有回收才能，回收之后它的 pid 就被释放了。";

    pub fn explain(a: &Args, scale: f64) -> String {
        let text = "zombie：子进程一开启就马上结束，但主进程暂时不回收它们，也就是不调用 \
            waitpid(2)。一个已经结束的进程，它的 pid 和退出码还留在内核里，\
            直到父进程来回收；在这之前它就是僵尸进程，/proc 里的状态是 Z，\
            ps 显示为 <defunct>。注意主进程从 /proc 读出每个子进程的状态，\
            打印一条可以在另一个终端里运行的 ps 命令，再向每个僵尸进程发送 SIGKILL：\
            什么也没有改变，僵尸进程已经死了。--hold 秒（默认 3 秒）之后主进程回收它们，\
            /proc/<pid> 也就不见了。"
            .to_owned();
        format!(
            "{text}（这一次：{} 个子进程，保持 {}，即 --hold {} 乘以 --time-scale。）",
            a.count,
            secs(a.hold * scale * 1000.0),
            trim_number(a.hold, 3)
        )
    }

    pub fn event(h: &Header, e: &Event) -> String {
        match e {
            Event::Exiting => format!("{} 马上结束，退出码 0", h.name),
            Event::Zombie {
                child,
                child_name,
                state: 'Z',
            } => format!(
                "子进程 {child_name}（pid {child}）已经结束，但还没被回收：\
                 /proc/{child}/stat 里的状态是 Z，是僵尸进程（ps 里显示 <defunct>）"
            ),
            Event::Zombie {
                child,
                child_name,
                state,
            } => format!(
                "子进程 {child_name}（pid {child}）已经结束，/proc/{child}/stat 里的状态是 {state}"
            ),
            Event::PsHint { command } => format!("另开一个终端看看: {command}"),
            Event::KillZombie {
                child,
                child_name,
                signal,
                state: 'Z',
            } => format!(
                "向 {child_name}（pid {child}）发送 {}：状态仍然是 Z。僵尸进程已经死了，\
                 信号对它不起作用，只有回收才能去掉它",
                signal.as_str()
            ),
            Event::KillZombie {
                child,
                child_name,
                signal,
                state,
            } => format!(
                "向 {child_name}（pid {child}）发送 {}：现在的状态是 {state}",
                signal.as_str()
            ),
            Event::Holding {
                zombies,
                seconds,
                for_ms,
            } => format!(
                "主进程先不回收这 {zombies} 个僵尸进程，等 {}（--hold {}）",
                secs(*for_ms),
                trim_number(*seconds, 3)
            ),
            Event::Gone { child, child_name } => {
                format!("回收之后 /proc/{child} 已经不存在了：{child_name} 的 pid 被释放了")
            }
        }
    }

    pub fn summary(s: &Summary) -> String {
        let after = if s.gone_after_reap {
            "回收之后 /proc/<pid> 全都不见了"
        } else {
            "回收之后还有 /proc/<pid> 存在"
        };
        format!(
            "完成：{} 个子进程，回收之前有 {} 个是僵尸进程（状态 Z）；{after}",
            s.children, s.zombies_seen
        )
    }

    /// What the quiz asks about this lesson.
    pub fn question(q: Question, d: Drawn) -> Text {
        let n = d.n;
        match q {
            Question::State => Text::new(
                format!(
                    "{n} 个子进程同时退出；主进程一秒钟内不回收它们，并读取它们在 \
                     /proc/<pid>/stat 里的状态。"
                ),
                "回收之前它读到的状态字母是什么？".to_owned(),
                choices(&["R，运行", "S，睡眠", "Z，僵尸"]),
                "退出了的子进程在父进程等待它之前都是僵尸进程：只剩下退出状态，等父进程来收。"
                    .to_owned(),
            ),
        }
    }
}

pub mod orphan {
    use super::*;
    use crate::lesson::orphan::Question;
    use crate::lesson::orphan::{Args, Event, Summary};
    use crate::quiz::ask::Drawn;
    use crate::quiz::data::Text;

    pub const ABOUT: &str = "父进程先退出：它的子进程被 subreaper 或 init 收养";
    pub const OPTIONS: &[(&str, &str)] = &[(
        "no_subreaper",
        "主进程不当 subreaper：孤儿进程交给主进程之上的 subreaper，或者 init",
    )];
    pub const SHOWED: &str = "结论：孤儿进程不会没有父进程；它被交给最近的收割者或 init，\
            由收养它的进程来回收。";

    pub fn explain(_: &Args, _scale: f64) -> String {
        "orphan：三代进程。主进程开启 Process-1，Process-1 开启 Process-2 \
            后不等它就马上退出：Process-2 成了孤儿进程。每个进程都有父进程，\
            所以内核给它找一个新的父进程：离它最近的、把自己设为子进程收割者\
            （subreaper，prctl(2) PR_SET_CHILD_SUBREAPER）的祖先，没有的话就是 \
            init（pid 1）。注意 Process-2 的父进程 pid：先是 Process-1 的，\
            后来是收养它的进程的。默认主进程就是收割者，它收养这个孤儿进程并回收它。\
            加上 --no-subreaper，孤儿进程会交给主进程之上的某个进程，主进程说出它是谁；\
            主进程不能等待不是自己子进程的进程，所以用 pidfd 看着它，直到它结束。"
            .to_owned()
    }

    pub fn event(h: &Header, e: &Event) -> String {
        match e {
            Event::Subreaper { subreaper: true } => "主进程把自己设为子进程收割者\
                （prctl PR_SET_CHILD_SUBREAPER）：它下面的孤儿进程都会交给它"
                .to_string(),
            Event::Subreaper { subreaper: false } => "主进程不是收割者（--no-subreaper）：\
                它下面的孤儿进程会交给它之上最近的收割者，或者 init"
                .to_string(),
            Event::Leaving { child, child_name } => format!(
                "{} 开启了 {child_name}（pid {child}），不等它就马上退出",
                h.name
            ),
            Event::Adopted { old_ppid, new_ppid } => format!(
                "{}：父进程 {old_ppid} 已经退出了，现在的父进程是 {new_ppid}：我被收养了",
                h.name
            ),
            Event::Adopter {
                child,
                child_name,
                adopter,
                comm,
                is_main: true,
            } => format!(
                "{child_name}（pid {child}）被交给了主进程自己（pid {adopter}，{comm}），\
                 它是收割者：主进程会像回收自己的子进程一样回收它"
            ),
            Event::Adopter {
                child,
                child_name,
                adopter,
                comm,
                is_main: false,
            } => format!(
                "{child_name}（pid {child}）被交给了 pid {adopter}（{comm}）{}：\
                 它不是主进程的子进程，主进程不能等待它，只能用 pidfd 看着它",
                if adopter.as_raw() == 1 {
                    "，也就是 init"
                } else {
                    "，主进程之上最近的收割者"
                }
            ),
            Event::OrphanEnded { child, child_name } => format!(
                "{child_name}（pid {child}）的 pidfd 可读了：它已经结束，\
                 由收养它的进程回收，而不是主进程"
            ),
            Event::Over => format!(
                "{} 结束了，子进程: {}，子进程父进程: {}",
                h.name, h.pid, h.ppid
            ),
            Event::MainGone => format!("{}：生命线管道关闭了，主进程已经不在了：我也结束", h.name),
        }
    }

    pub fn summary(s: &Summary) -> String {
        let by = if s.subreaper {
            "主进程是收割者，它回收了孤儿进程"
        } else {
            "收养它的是主进程之上的进程，由它回收"
        };
        format!(
            "完成：Process-1（{}）退出后，它的子进程 Process-2（{}）成了孤儿进程，\
             被 pid {} 收养：{by}",
            s.parent_pid, s.orphan_pid, s.adopted_by
        )
    }

    /// What the quiz asks about this lesson.
    pub fn question(q: Question, _: Drawn) -> Text {
        match q {
            Question::Adopter => Text::new(
                "主进程开启 Process-1，Process-1 开启 Process-2 后马上退出；主进程是 subreaper。"
                    .to_owned(),
                "Process-1 没了之后，谁成为 Process-2 的父进程？".to_owned(),
                choices(&[
                    "主进程，它是 subreaper",
                    "init，pid 1",
                    "没有人：它还是 Process-1 的 pid",
                ]),
                "孤儿进程马上被过继给它上面最近的 subreaper（PR_SET_CHILD_SUBREAPER），\
                 没有的话就过继给 init。"
                    .to_owned(),
            ),
        }
    }
}

pub mod queue {
    use super::*;
    use crate::lesson::queue::Question;
    use crate::lesson::queue::{Args, Event, Summary};
    use crate::quiz::ask::Drawn;
    use crate::quiz::data::Text;

    pub const ABOUT: &str = "生产者和消费者共用一个有界队列（POSIX 消息队列）";
    pub const OPTIONS: &[(&str, &str)] = &[
        ("producers", "几个生产者进程"),
        ("consumers", "几个消费者进程"),
        ("items", "每个生产者放几个数据"),
        ("capacity", "队列最多放几个数据（它的 mq_maxmsg）"),
    ];
    pub const SHOWED: &str =
        "结论：彼此从不直接通信的进程通过一个队列分担了工作；队列满了生产者等，\
            队列空了消费者等，每个数据都恰好经过一次，而且按顺序。";

    pub fn explain(_: &Args, _scale: f64) -> String {
        "queue：生产者消费者模型。两个生产者进程往同一个队列里放数据，\
            两个消费者进程从队列里取出数据来处理，处理得比生产慢；队列最多放 3 个数据。\
            这个队列是内核对象，POSIX 消息队列（mq_send、mq_receive），等待由内核完成：\
            生产者发现队列满了，就等到消费者取走一个；消费者发现队列空了，\
            就等到生产者放进一个。注意那些「等着」的行，或者加上 --timeline \
            看看谁在什么时候等。两个生产者都做完以后，主进程给每个消费者放一个结束标志\
            （Python 的 None），消费者取到结束标志就下班。每个数据恰好被处理一次，\
            同一个生产者的数据按它放入的顺序被取出。"
            .to_owned()
    }

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

    /// What the quiz asks about this lesson.
    pub fn question(q: Question, d: Drawn) -> Text {
        let Drawn { n, m } = d;
        match q {
            Question::Items => Text::new(
                format!(
                    "{n} 个生产者各往同一个有界队列里放 {m} 个数据；2 个消费者一直取，\
                     直到取到主进程放的结束标记。"
                ),
                "消费者一共取到几个数据？（一个数）".to_owned(),
                None,
                "队列把每个数据交给一个消费者，只交一次：放进去的都被取走，没有重复的。".to_owned(),
            ),
        }
    }
}

pub mod pool {
    use super::*;
    use crate::lesson::pool::Question;
    use crate::lesson::pool::{Args, Event, Mode, Summary};
    use crate::messages::python_list;
    use crate::quiz::ask::Drawn;
    use crate::quiz::data::Text;

    pub const ABOUT: &str = "进程池：工作进程只开启一次，一个接一个地做任务（Pool(3).map）";
    pub const OPTIONS: &[(&str, &str)] = &[
        (
            "workers",
            "几个工作进程（加上 --no-pool：同时最多几个任务进程）",
        ),
        ("tasks", "几个任务：f(0) …… f(T-1)，f 计算参数的平方"),
        ("no_pool", "不用进程池，每个任务开一个新进程，作为对比"),
    ];
    pub const SHOWED: &str = "结论：几个只开了一次的进程做完了所有任务，\
            不管完成的先后，结果都按任务的顺序返回。";

    pub fn explain(_: &Args, _scale: f64) -> String {
        "pool：进程池，即 Python 的 Pool(3).map(f, range(10))，\
            f 睡一会儿之后返回参数的平方。开设进程要花时间，所以进程池只开 3 \
            个工作进程，每个进程从同一个管道里一个接一个地领任务，直到没有任务为止。\
            注意 pid：十个任务都是同样的三个进程做的。结果从另一个管道送回来，\
            完成的先后不定，主进程把每个结果放到它的任务的位置上，\
            所以结果按任务的顺序排列。加上 --no-pool，每个任务都开一个新进程：\
            十个 pid，开了十次进程。"
            .to_owned()
    }

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

    /// What the quiz asks about this lesson.
    pub fn question(q: Question, d: Drawn) -> Text {
        let Drawn { n, m } = d;
        match q {
            Question::Processes => Text::new(
                format!("Pool({n}).map(f, range({m}))：{n} 个工作进程的进程池做 {m} 个任务。"),
                "主进程开启了几个进程？（一个数）".to_owned(),
                None,
                "进程池只开启一次工作进程，每个工作进程一个接一个地做任务：开启进程的代价只付 W 次，不是 T 次。"
                    .to_owned(),
            ),
        }
    }
}

pub mod shared {
    use super::*;
    use crate::lesson::shared::Question;
    use crate::lesson::shared::{Args, Event, Mode, Summary};
    use crate::quiz::ask::Drawn;
    use crate::quiz::data::Text;

    pub const ABOUT: &str = "每个工作进程都映射的同一个整数：加锁就准确，不加锁就丢失更新";
    pub const OPTIONS: &[(&str, &str)] = &[
        ("workers", "几个工作进程"),
        ("adds", "每个工作进程加几次 1"),
        ("no_lock", "读出再写回时不加锁，看看丢失的更新"),
        ("atomic", "改用一条原子指令加 1：准确，也不用锁"),
    ];
    pub const SHOWED: &str = "结论：所有工作进程映射的是同一页内存，有锁的时候计数分毫不差；\
            运行 `procdemo shared --no-lock` 看看锁所防止的更新丢失。";

    pub fn explain(_: &Args, _scale: f64) -> String {
        "shared：isolate 的续篇。在 isolate 里每个进程都有自己的 money。\
            这里主进程在一页内存里放一个整数，每个工作进程都把这一页映射进来\
            （memfd_create，再用 MAP_SHARED 做 mmap）：每个进程看到的地址各不相同，\
            看到的却是同一页、同一个值。4 个工作进程各自给它加 1，加 100000 次，\
            每次都是先读出来再写回去。默认每次加 1 都持有一把锁，\
            一个放在同一页里的进程间共享的互斥锁，结果分毫不差。加上 --no-lock，\
            两个进程可能读到同一个值，又都写回这个值加一：更新丢失了，\
            总结会说丢了多少。加上 --atomic，每次加 1 都是一条原子指令：不用锁，也分毫不差。"
            .to_owned()
    }

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

    /// What the quiz asks about this lesson.
    pub fn question(q: Question, d: Drawn) -> Text {
        let Drawn { n, m } = d;
        match q {
            Question::Locked => Text::new(
                format!("{n} 个工作进程各给同一个共享整数加 {m} 次 1，每次加锁读出再写回。"),
                "它最后是多少？（一个数）".to_owned(),
                None,
                "加了锁，一次读出和它的写回之间不会插进别的工作进程：没有更新丢失。".to_owned(),
            ),
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
    joining: "等待子进程（join）",
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
            trim_number(column_ms, if column_ms < 1.0 { 3 } else { 1 })
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

    fn tour_second_part(&self) -> &'static str {
        "第二部分：教程之后的课。它们比 Python 的 multiprocessing 走得更远：\
         子进程结束之后还剩下什么，谁收养了孤儿进程，进程之间怎样协作。"
    }

    fn tour_outro(&self, all: bool) -> &'static str {
        if all {
            "导览结束。每一课还有更多可以尝试的：`procdemo <场景> --help` 列出它的选项和例子，\
             --timeline 把所有进程画在同一条时间轴上。"
        } else {
            "导览结束。每个场景还有更多可以尝试的：`procdemo <场景> --help` 列出它的选项和例子，\
             --timeline 把所有进程画在同一条时间轴上。教程之后的课：`procdemo tour --all`。"
        }
    }

    fn chart(&self) -> &'static ChartWords {
        &CHART
    }
}

pub mod quiz {
    use crate::quiz::data::{Event, QuizWords, Summary};

    pub fn event(e: &Event) -> String {
        match e {
            Event::Question {
                number, command, ..
            } => format!("第 {number} 题：{command}"),
            Event::Answer { number, given } => match given {
                Some(a) => format!("第 {number} 题的回答：{a}"),
                None => format!("第 {number} 题的回答无效"),
            },
            Event::Outcome {
                number,
                observed,
                correct,
            } => format!(
                "第 {number} 题的结果：实际是 {}；{}",
                observed.map_or("没有能回答的结果".to_owned(), |a| a.to_string()),
                if *correct { "答对了" } else { "答错了" }
            ),
        }
    }

    pub fn summary(s: &Summary) -> String {
        format!(
            "得分：{} 题答对 {} 题（回答了 {} 题）；用 --seed {} 可以再来一次",
            s.questions, s.correct, s.answered, s.seed
        )
    }

    pub static WORDS: QuizWords = QuizWords {
        intro: |seed, n| {
            format!(
                "procdemo 测验：{n} 道关于真实进程的题。每一题先预测会发生什么，\
                 再看真实的运行怎么回答。用字母或数字作答。\
                 （种子 {seed}：`procdemo quiz --seed {seed}` 会问同样的题。）"
            )
        },
        sheet: |seed| format!("procdemo quiz --seed {seed} 的答案。"),
        heading: |n, of| format!("── 第 {n}/{of} 题 ──"),
        answer: |a| format!("答案：{a}"),
        invalid: |choices, again| {
            let want = match choices {
                Some(n) => format!("从 a 到 {} 的一个字母", (b'a' + n as u8 - 1) as char),
                None => "一个整数".to_owned(),
            };
            if again {
                format!("这不是{want}，请再试一次。")
            } else {
                format!("这不是{want}：算答错。")
            }
        },
        verdict: |given, observed, correct| {
            let said = given.map_or("无效的回答".to_owned(), |a| a.to_string());
            let did = observed.map_or("没有能回答的结果".to_owned(), |a| a.to_string());
            format!(
                "你的回答是 {said}；真实的运行是 {did}：{}",
                if correct {
                    "答对了。"
                } else {
                    "这次不对。"
                }
            )
        },
        ended: || "输入结束：测验到此为止。".to_owned(),
    };
}

/// A runtime error as one Chinese line: each link of its chain that procdemo knows (the
/// ticket file's faults, what the system refused) is said in Chinese; a link it does not
/// know (a path, a name) is kept as it is.
pub fn error(err: &anyhow::Error) -> String {
    use crate::ticketfile::format::FormatError;
    use crate::ticketfile::store::ReadError;
    let format = |e: &FormatError| match e {
        FormatError::Empty => "空文件".to_owned(),
        FormatError::TooLarge => format!(
            "文件太大，不像是票数文件（超过了 procdemo 的上限 {}）",
            crate::ticketfile::format::MAX_SIZE_TEXT
        ),
        FormatError::NotUtf8 { offset } => {
            format!("不是 UTF-8 文本（第 {offset} 个字节起是二进制）")
        }
        FormatError::InvalidJson(msg) => format!("不是合法的 JSON：{msg}"),
        FormatError::NotAnObject(found) => {
            format!("最外层必须是一个对象，比如 {{\"ticket\": 1}}，实际是 {found}")
        }
        FormatError::MissingTicket => "缺少 \"ticket\"".to_owned(),
        FormatError::NotANonNegativeInteger(found) => {
            format!("\"ticket\" 必须是非负整数，实际是 {found}")
        }
        FormatError::TicketTooLarge(found) => {
            format!("\"ticket\" 太大了（必须能放进 64 位），实际是 {found}")
        }
    };
    let io = |e: &std::io::Error| {
        use std::io::ErrorKind::*;
        let what = match e.kind() {
            NotFound => "没有这个文件或目录",
            PermissionDenied => "没有权限",
            AlreadyExists => "已经存在",
            IsADirectory => "是一个目录",
            NotADirectory => "不是一个目录",
            ReadOnlyFilesystem => "文件系统是只读的",
            StorageFull => "磁盘满了",
            InvalidFilename => "文件名太长或不合法",
            _ => return format!("系统拒绝了：{e}"),
        };
        format!("{what}（{e}）")
    };
    err.chain()
        .map(|cause| {
            if let Some(e) = cause.downcast_ref::<ReadError>() {
                match e {
                    ReadError::Missing { path } => format!(
                        "没有这个文件；用 `{}` 创建它",
                        crate::ticketfile::reset_command(path)
                    ),
                    ReadError::NoDirectory { dir } => {
                        format!("目录 {} 不存在", crate::quote::shell_quote(dir))
                    }
                    ReadError::Invalid(f) => format(f),
                    ReadError::NotAFile(kind) => {
                        let kind = match *kind {
                            "a directory" => "一个目录",
                            "a FIFO" | "a named pipe (FIFO)" => "一个命名管道（FIFO）",
                            "a socket" => "一个套接字",
                            "a character device" => "一个字符设备",
                            "a block device" => "一个块设备",
                            "a symbolic link" => "一个符号链接",
                            other => other,
                        };
                        format!("不是票数文件（它是{kind}）")
                    }
                    ReadError::Io(e) => io(e),
                }
            } else if let Some(e) = cause.downcast_ref::<crate::error::ChildrenFailed>() {
                if e.count == 1 {
                    format!(
                        "{}（pid {}）以退出码 {} 失败了，原因见上面它自己的话",
                        e.first, e.pid, e.code
                    )
                } else {
                    format!(
                        "{} 个子进程失败了，第一个是 {}（pid {}），退出码 {}；原因见上面它们自己的话",
                        e.count, e.first, e.pid, e.code
                    )
                }
            } else if let Some(e) = cause.downcast_ref::<crate::error::CouldNotStart>() {
                format!("无法开启 {}（之前已经开启了 {} 个子进程）", e.name, e.started)
            } else if let Some(f) = cause.downcast_ref::<FormatError>() {
                format(f)
            } else if let Some(e) = cause.downcast_ref::<std::io::Error>() {
                io(e)
            } else {
                // Context added by procdemo itself around a path: its words, in Chinese.
                let text = cause.to_string();
                const WORDS: [(&str, &str); 3] = [
                    (": cannot open or create the lock file beside it", "：无法打开或创建旁边的锁文件"),
                    ("reading the count after the buyers", "在用户们之后读票数"),
                    (": not a file name", "：不是一个文件名"),
                ];
                WORDS
                    .iter()
                    .find_map(|(en, zh)| {
                        text.strip_suffix(en).map(|head| format!("{head}{zh}"))
                    })
                    .unwrap_or(text)
            }
        })
        .collect::<Vec<_>>()
        .join("：")
}
