//! The figures as the `/stats/` page (a table and a daily chart per
//! feed, inline SVG: no script) and as `/stats/subscribers.json`.

use serde::Serialize;

use super::figures::{CHART_DAYS, FeedFigures, Figures, change_text, reported_text};

const WIDTH: i64 = 270;
const HEIGHT: i64 = 40;

#[derive(Serialize)]
struct Row<'a> {
    figures: &'a FeedFigures,
    reported: String,
    change_7: String,
    change_30: String,
    most: u64,
    /// The chart's line: `x,y` a day.
    points: String,
}

/// A feed's daily totals as points of a line over the last 90 days.
fn points(f: &FeedFigures, last: i64) -> (String, u64) {
    let most = f.daily.iter().map(|d| d.total).max().unwrap_or(0).max(1);
    let step = WIDTH as f64 / (CHART_DAYS - 1) as f64;
    let list: Vec<String> = f
        .daily
        .iter()
        .map(|d| {
            let x = (CHART_DAYS - 1 - (last - d.day)) as f64 * step;
            let y = HEIGHT as f64 - 2.0 - d.total as f64 / most as f64 * (HEIGHT - 4) as f64;
            format!("{x:.1},{y:.1}")
        })
        .collect();
    (list.join(" "), most)
}

/// The `/stats/` page of the site titled `title`.
pub fn html(figures: &Figures, title: &str) -> Result<String, minijinja::Error> {
    let last = figures.day.unwrap_or(0);
    let feeds: Vec<Row> = figures
        .feeds
        .iter()
        .map(|f| {
            let (points, most) = points(f, last);
            Row {
                figures: f,
                reported: reported_text(&f.reported),
                change_7: change_text(f.change_7_days),
                change_30: change_text(f.change_30_days),
                most,
                points,
            }
        })
        .collect();
    // crier's pages' escaping and strictness.
    let mut env = crate::templates::environment();
    env.add_template("stats.html", include_str!("stats.html"))?;
    env.get_template("stats.html")?.render(minijinja::context! {
        title,
        figures => minijinja::Value::from(minijinja::value::Serde(figures)),
        feeds => minijinja::Value::from(minijinja::value::Serde(&feeds)),
        days => CHART_DAYS,
        width => WIDTH,
        height => HEIGHT,
    })
}

/// `/stats/subscribers.json`.
pub fn json(figures: &Figures) -> Vec<u8> {
    // Plain data: serializing it cannot fail.
    serde_json::to_vec_pretty(figures).unwrap_or_default()
}

#[cfg(test)]
mod tests {
    use super::super::figures::DayRow;
    use super::*;

    #[test]
    fn a_chart_per_feed_and_names_escaped() {
        let d = 20_000;
        let rows: Vec<DayRow> = (0..100)
            .map(|i| DayRow {
                day: d - i,
                feed: "/<b>/rss.xml".into(),
                source: "direct".into(),
                aggregator: String::new(),
                readers: 100 - i,
            })
            .collect();
        let f = Figures::from_rows(rows, &[], d * 86_400);
        let page = html(&f, "Taiyuan & Co").unwrap();
        assert!(page.contains("Readers of Taiyuan &amp; Co"), "{page}");
        assert!(page.contains("/&lt;b&gt;/rss.xml"));
        let line = page.split("<polyline points=\"").nth(1).unwrap();
        let line = &line[..line.find('"').unwrap()];
        assert_eq!(line.split(' ').count(), 90, "90 days");
        assert!(line.starts_with("0.0,"), "{line}");
        assert!(
            line.ends_with("270.0,2.0"),
            "the latest, highest day at the right top: {line}"
        );
        let json: serde_json::Value = serde_json::from_slice(&json(&f)).unwrap();
        assert_eq!(json["feeds"][0]["total"], 100);
        assert_eq!(json["feeds"][0]["daily"].as_array().unwrap().len(), 90);
    }
}
