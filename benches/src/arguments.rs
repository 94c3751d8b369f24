//! The org-scale benchmark's own arguments (`seed=`, `accounts=`): bad ones are refused with
//! what was wrong and what is expected.

/// The seeds `seed=` names: one (`7`), a range (`1-8`) or a list (`1,3,5`).
pub fn parse_seeds(text: &str) -> Result<Vec<u64>, String> {
    let number = |part: &str| {
        part.trim()
            .parse::<u64>()
            .map_err(|_| format!("seed={text}: {part:?} is not a whole number; expected seed=N, seed=A-B or seed=A,B,C"))
    };
    let seeds = if let Some((first, last)) = text.split_once('-') {
        let (first, last) = (number(first)?, number(last)?);
        if first > last {
            return Err(format!(
                "seed={text}: the range ends before it starts; expected seed=A-B with A <= B"
            ));
        }
        (first..=last).collect()
    } else {
        text.split(',').map(number).collect::<Result<Vec<_>, _>>()?
    };
    Ok(seeds)
}

/// The most accounts `accounts=` takes: the largest org AWS Organizations allows (its quota can
/// be raised to 10,000) and the benchmark's largest size.
pub const MOST_ACCOUNTS: usize = 10_000;

/// The org sizes `accounts=` names: one (`2000`) or a list (`1000,2000,5000`), each from 1 to
/// [`MOST_ACCOUNTS`].
pub fn parse_sizes(text: &str) -> Result<Vec<usize>, String> {
    text.split(',')
        .map(|part| match part.trim().parse::<usize>() {
            Ok(size) if (1..=MOST_ACCOUNTS).contains(&size) => Ok(size),
            _ => Err(format!(
                "accounts={text}: {part:?} is not a number of accounts from 1 to {MOST_ACCOUNTS}; expected accounts=N or accounts=A,B,C"
            )),
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn seeds_are_one_a_range_or_a_list() {
        assert_eq!(parse_seeds("7"), Ok(vec![7]));
        assert_eq!(parse_seeds("1-4"), Ok(vec![1, 2, 3, 4]));
        assert_eq!(parse_seeds("1, 3,5"), Ok(vec![1, 3, 5]));
        let backwards = parse_seeds("8-1").expect_err("a backwards range");
        assert!(backwards.contains("ends before it starts"), "{backwards}");
        let word = parse_seeds("seven").expect_err("a word");
        assert!(word.contains("\"seven\" is not a whole number"), "{word}");
        assert!(parse_seeds("1,,2").is_err());
    }

    #[test]
    fn org_sizes_are_from_one_to_the_largest_org() {
        assert_eq!(parse_sizes("2000"), Ok(vec![2_000]));
        assert_eq!(parse_sizes("1000, 10000"), Ok(vec![1_000, 10_000]));
        for bad in ["0", "10001", "1k", ""] {
            let message = parse_sizes(bad).expect_err(bad);
            assert!(message.contains("expected accounts=N"), "{bad}: {message}");
        }
    }
}
