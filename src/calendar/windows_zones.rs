//! Windows time-zone names → IANA zones, for TZIDs written by Outlook and
//! Exchange. Owns the CLDR table and the lookups by Windows ID ("Russian
//! Standard Time") and by Outlook display name ("(UTC+03:00) Moscow,
//! St. Petersburg"), with or without its offset prefix. Knows nothing about iCalendar text.

/// `(Windows ID, IANA zone for territory "001", Windows display name)`.
///
/// Source: Unicode CLDR `common/supplemental/windowsZones.xml`
/// (mapTimezones otherVersion="7e11800" typeVersion="2021a"), the
/// territory-001 ("golden zone") row of every Windows zone, with the
/// display name from the comment above each group. Data © Unicode, Inc.,
/// Unicode License (<https://www.unicode.org/copyright.html>).
#[rustfmt::skip]
pub const WINDOWS_ZONES: &[(&str, &str, &str)] = &[
    ("Dateline Standard Time", "Etc/GMT+12", "(UTC-12:00) International Date Line West"),
    ("UTC-11", "Etc/GMT+11", "(UTC-11:00) Coordinated Universal Time-11"),
    ("Aleutian Standard Time", "America/Adak", "(UTC-10:00) Aleutian Islands"),
    ("Hawaiian Standard Time", "Pacific/Honolulu", "(UTC-10:00) Hawaii"),
    ("Marquesas Standard Time", "Pacific/Marquesas", "(UTC-09:30) Marquesas Islands"),
    ("Alaskan Standard Time", "America/Anchorage", "(UTC-09:00) Alaska"),
    ("UTC-09", "Etc/GMT+9", "(UTC-09:00) Coordinated Universal Time-09"),
    ("Pacific Standard Time (Mexico)", "America/Tijuana", "(UTC-08:00) Baja California"),
    ("UTC-08", "Etc/GMT+8", "(UTC-08:00) Coordinated Universal Time-08"),
    ("Pacific Standard Time", "America/Los_Angeles", "(UTC-08:00) Pacific Time (US & Canada)"),
    ("US Mountain Standard Time", "America/Phoenix", "(UTC-07:00) Arizona"),
    ("Mountain Standard Time (Mexico)", "America/Mazatlan", "(UTC-07:00) Chihuahua, La Paz, Mazatlan"),
    ("Mountain Standard Time", "America/Denver", "(UTC-07:00) Mountain Time (US & Canada)"),
    ("Yukon Standard Time", "America/Whitehorse", "(UTC-07:00) Yukon"),
    ("Central America Standard Time", "America/Guatemala", "(UTC-06:00) Central America"),
    ("Central Standard Time", "America/Chicago", "(UTC-06:00) Central Time (US & Canada)"),
    ("Easter Island Standard Time", "Pacific/Easter", "(UTC-06:00) Easter Island"),
    ("Central Standard Time (Mexico)", "America/Mexico_City", "(UTC-06:00) Guadalajara, Mexico City, Monterrey"),
    ("Canada Central Standard Time", "America/Regina", "(UTC-06:00) Saskatchewan"),
    ("SA Pacific Standard Time", "America/Bogota", "(UTC-05:00) Bogota, Lima, Quito, Rio Branco"),
    ("Eastern Standard Time (Mexico)", "America/Cancun", "(UTC-05:00) Chetumal"),
    ("Eastern Standard Time", "America/New_York", "(UTC-05:00) Eastern Time (US & Canada)"),
    ("Haiti Standard Time", "America/Port-au-Prince", "(UTC-05:00) Haiti"),
    ("Cuba Standard Time", "America/Havana", "(UTC-05:00) Havana"),
    ("US Eastern Standard Time", "America/Indianapolis", "(UTC-05:00) Indiana (East)"),
    ("Turks And Caicos Standard Time", "America/Grand_Turk", "(UTC-05:00) Turks and Caicos"),
    ("Paraguay Standard Time", "America/Asuncion", "(UTC-04:00) Asuncion"),
    ("Atlantic Standard Time", "America/Halifax", "(UTC-04:00) Atlantic Time (Canada)"),
    ("Venezuela Standard Time", "America/Caracas", "(UTC-04:00) Caracas"),
    ("Central Brazilian Standard Time", "America/Cuiaba", "(UTC-04:00) Cuiaba"),
    ("SA Western Standard Time", "America/La_Paz", "(UTC-04:00) Georgetown, La Paz, Manaus, San Juan"),
    ("Pacific SA Standard Time", "America/Santiago", "(UTC-04:00) Santiago"),
    ("Newfoundland Standard Time", "America/St_Johns", "(UTC-03:30) Newfoundland"),
    ("Tocantins Standard Time", "America/Araguaina", "(UTC-03:00) Araguaina"),
    ("E. South America Standard Time", "America/Sao_Paulo", "(UTC-03:00) Brasilia"),
    ("SA Eastern Standard Time", "America/Cayenne", "(UTC-03:00) Cayenne, Fortaleza"),
    ("Argentina Standard Time", "America/Buenos_Aires", "(UTC-03:00) City of Buenos Aires"),
    ("Greenland Standard Time", "America/Godthab", "(UTC-03:00) Greenland"),
    ("Montevideo Standard Time", "America/Montevideo", "(UTC-03:00) Montevideo"),
    ("Magallanes Standard Time", "America/Punta_Arenas", "(UTC-03:00) Punta Arenas"),
    ("Saint Pierre Standard Time", "America/Miquelon", "(UTC-03:00) Saint Pierre and Miquelon"),
    ("Bahia Standard Time", "America/Bahia", "(UTC-03:00) Salvador"),
    ("UTC-02", "Etc/GMT+2", "(UTC-02:00) Coordinated Universal Time-02"),
    ("Azores Standard Time", "Atlantic/Azores", "(UTC-01:00) Azores"),
    ("Cape Verde Standard Time", "Atlantic/Cape_Verde", "(UTC-01:00) Cabo Verde Is."),
    ("UTC", "Etc/UTC", "(UTC) Coordinated Universal Time"),
    ("GMT Standard Time", "Europe/London", "(UTC+00:00) Dublin, Edinburgh, Lisbon, London"),
    ("Greenwich Standard Time", "Atlantic/Reykjavik", "(UTC+00:00) Monrovia, Reykjavik"),
    ("Sao Tome Standard Time", "Africa/Sao_Tome", "(UTC+00:00) Sao Tome"),
    ("Morocco Standard Time", "Africa/Casablanca", "(UTC+01:00) Casablanca"),
    ("W. Europe Standard Time", "Europe/Berlin", "(UTC+01:00) Amsterdam, Berlin, Bern, Rome, Stockholm, Vienna"),
    ("Central Europe Standard Time", "Europe/Budapest", "(UTC+01:00) Belgrade, Bratislava, Budapest, Ljubljana, Prague"),
    ("Romance Standard Time", "Europe/Paris", "(UTC+01:00) Brussels, Copenhagen, Madrid, Paris"),
    ("Central European Standard Time", "Europe/Warsaw", "(UTC+01:00) Sarajevo, Skopje, Warsaw, Zagreb"),
    ("W. Central Africa Standard Time", "Africa/Lagos", "(UTC+01:00) West Central Africa"),
    ("Jordan Standard Time", "Asia/Amman", "(UTC+02:00) Amman"),
    ("GTB Standard Time", "Europe/Bucharest", "(UTC+02:00) Athens, Bucharest"),
    ("Middle East Standard Time", "Asia/Beirut", "(UTC+02:00) Beirut"),
    ("Egypt Standard Time", "Africa/Cairo", "(UTC+02:00) Cairo"),
    ("E. Europe Standard Time", "Europe/Chisinau", "(UTC+02:00) Chisinau"),
    ("Syria Standard Time", "Asia/Damascus", "(UTC+02:00) Damascus"),
    ("West Bank Standard Time", "Asia/Hebron", "(UTC+02:00) Gaza, Hebron"),
    ("South Africa Standard Time", "Africa/Johannesburg", "(UTC+02:00) Harare, Pretoria"),
    ("FLE Standard Time", "Europe/Kiev", "(UTC+02:00) Helsinki, Kyiv, Riga, Sofia, Tallinn, Vilnius"),
    ("Israel Standard Time", "Asia/Jerusalem", "(UTC+02:00) Jerusalem"),
    ("South Sudan Standard Time", "Africa/Juba", "(UTC+02:00) Juba"),
    ("Kaliningrad Standard Time", "Europe/Kaliningrad", "(UTC+02:00) Kaliningrad"),
    ("Sudan Standard Time", "Africa/Khartoum", "(UTC+02:00) Khartoum"),
    ("Libya Standard Time", "Africa/Tripoli", "(UTC+02:00) Tripoli"),
    ("Namibia Standard Time", "Africa/Windhoek", "(UTC+02:00) Windhoek"),
    ("Arabic Standard Time", "Asia/Baghdad", "(UTC+03:00) Baghdad"),
    ("Turkey Standard Time", "Europe/Istanbul", "(UTC+03:00) Istanbul"),
    ("Arab Standard Time", "Asia/Riyadh", "(UTC+03:00) Kuwait, Riyadh"),
    ("Belarus Standard Time", "Europe/Minsk", "(UTC+03:00) Minsk"),
    ("Russian Standard Time", "Europe/Moscow", "(UTC+03:00) Moscow, St. Petersburg"),
    ("E. Africa Standard Time", "Africa/Nairobi", "(UTC+03:00) Nairobi"),
    ("Iran Standard Time", "Asia/Tehran", "(UTC+03:30) Tehran"),
    ("Arabian Standard Time", "Asia/Dubai", "(UTC+04:00) Abu Dhabi, Muscat"),
    ("Astrakhan Standard Time", "Europe/Astrakhan", "(UTC+04:00) Astrakhan, Ulyanovsk"),
    ("Azerbaijan Standard Time", "Asia/Baku", "(UTC+04:00) Baku"),
    ("Russia Time Zone 3", "Europe/Samara", "(UTC+04:00) Izhevsk, Samara"),
    ("Mauritius Standard Time", "Indian/Mauritius", "(UTC+04:00) Port Louis"),
    ("Saratov Standard Time", "Europe/Saratov", "(UTC+04:00) Saratov"),
    ("Georgian Standard Time", "Asia/Tbilisi", "(UTC+04:00) Tbilisi"),
    ("Volgograd Standard Time", "Europe/Volgograd", "(UTC+04:00) Volgograd"),
    ("Caucasus Standard Time", "Asia/Yerevan", "(UTC+04:00) Yerevan"),
    ("Afghanistan Standard Time", "Asia/Kabul", "(UTC+04:30) Kabul"),
    ("West Asia Standard Time", "Asia/Tashkent", "(UTC+05:00) Ashgabat, Tashkent"),
    ("Ekaterinburg Standard Time", "Asia/Yekaterinburg", "(UTC+05:00) Ekaterinburg"),
    ("Pakistan Standard Time", "Asia/Karachi", "(UTC+05:00) Islamabad, Karachi"),
    ("Qyzylorda Standard Time", "Asia/Qyzylorda", "(UTC+05:00) Qyzylorda"),
    ("India Standard Time", "Asia/Calcutta", "(UTC+05:30) Chennai, Kolkata, Mumbai, New Delhi"),
    ("Sri Lanka Standard Time", "Asia/Colombo", "(UTC+05:30) Sri Jayawardenepura"),
    ("Nepal Standard Time", "Asia/Katmandu", "(UTC+05:45) Kathmandu"),
    ("Central Asia Standard Time", "Asia/Bishkek", "(UTC+06:00) Astana"),
    ("Bangladesh Standard Time", "Asia/Dhaka", "(UTC+06:00) Dhaka"),
    ("Omsk Standard Time", "Asia/Omsk", "(UTC+06:00) Omsk"),
    ("Myanmar Standard Time", "Asia/Rangoon", "(UTC+06:30) Yangon (Rangoon)"),
    ("SE Asia Standard Time", "Asia/Bangkok", "(UTC+07:00) Bangkok, Hanoi, Jakarta"),
    ("Altai Standard Time", "Asia/Barnaul", "(UTC+07:00) Barnaul, Gorno-Altaysk"),
    ("W. Mongolia Standard Time", "Asia/Hovd", "(UTC+07:00) Hovd"),
    ("North Asia Standard Time", "Asia/Krasnoyarsk", "(UTC+07:00) Krasnoyarsk"),
    ("N. Central Asia Standard Time", "Asia/Novosibirsk", "(UTC+07:00) Novosibirsk"),
    ("Tomsk Standard Time", "Asia/Tomsk", "(UTC+07:00) Tomsk"),
    ("China Standard Time", "Asia/Shanghai", "(UTC+08:00) Beijing, Chongqing, Hong Kong, Urumqi"),
    ("North Asia East Standard Time", "Asia/Irkutsk", "(UTC+08:00) Irkutsk"),
    ("Singapore Standard Time", "Asia/Singapore", "(UTC+08:00) Kuala Lumpur, Singapore"),
    ("W. Australia Standard Time", "Australia/Perth", "(UTC+08:00) Perth"),
    ("Taipei Standard Time", "Asia/Taipei", "(UTC+08:00) Taipei"),
    ("Ulaanbaatar Standard Time", "Asia/Ulaanbaatar", "(UTC+08:00) Ulaanbaatar"),
    ("Aus Central W. Standard Time", "Australia/Eucla", "(UTC+08:45) Eucla"),
    ("Transbaikal Standard Time", "Asia/Chita", "(UTC+09:00) Chita"),
    ("Tokyo Standard Time", "Asia/Tokyo", "(UTC+09:00) Osaka, Sapporo, Tokyo"),
    ("North Korea Standard Time", "Asia/Pyongyang", "(UTC+09:00) Pyongyang"),
    ("Korea Standard Time", "Asia/Seoul", "(UTC+09:00) Seoul"),
    ("Yakutsk Standard Time", "Asia/Yakutsk", "(UTC+09:00) Yakutsk"),
    ("Cen. Australia Standard Time", "Australia/Adelaide", "(UTC+09:30) Adelaide"),
    ("AUS Central Standard Time", "Australia/Darwin", "(UTC+09:30) Darwin"),
    ("E. Australia Standard Time", "Australia/Brisbane", "(UTC+10:00) Brisbane"),
    ("AUS Eastern Standard Time", "Australia/Sydney", "(UTC+10:00) Canberra, Melbourne, Sydney"),
    ("West Pacific Standard Time", "Pacific/Port_Moresby", "(UTC+10:00) Guam, Port Moresby"),
    ("Tasmania Standard Time", "Australia/Hobart", "(UTC+10:00) Hobart"),
    ("Vladivostok Standard Time", "Asia/Vladivostok", "(UTC+10:00) Vladivostok"),
    ("Lord Howe Standard Time", "Australia/Lord_Howe", "(UTC+10:30) Lord Howe Island"),
    ("Bougainville Standard Time", "Pacific/Bougainville", "(UTC+11:00) Bougainville Island"),
    ("Russia Time Zone 10", "Asia/Srednekolymsk", "(UTC+11:00) Chokurdakh"),
    ("Magadan Standard Time", "Asia/Magadan", "(UTC+11:00) Magadan"),
    ("Norfolk Standard Time", "Pacific/Norfolk", "(UTC+11:00) Norfolk Island"),
    ("Sakhalin Standard Time", "Asia/Sakhalin", "(UTC+11:00) Sakhalin"),
    ("Central Pacific Standard Time", "Pacific/Guadalcanal", "(UTC+11:00) Solomon Is., New Caledonia"),
    ("Russia Time Zone 11", "Asia/Kamchatka", "(UTC+12:00) Anadyr, Petropavlovsk-Kamchatsky"),
    ("New Zealand Standard Time", "Pacific/Auckland", "(UTC+12:00) Auckland, Wellington"),
    ("UTC+12", "Etc/GMT-12", "(UTC+12:00) Coordinated Universal Time+12"),
    ("Fiji Standard Time", "Pacific/Fiji", "(UTC+12:00) Fiji"),
    ("Chatham Islands Standard Time", "Pacific/Chatham", "(UTC+12:45) Chatham Islands"),
    ("UTC+13", "Etc/GMT-13", "(UTC+13:00) Coordinated Universal Time+13"),
    ("Tonga Standard Time", "Pacific/Tongatapu", "(UTC+13:00) Nuku'alofa"),
    ("Samoa Standard Time", "Pacific/Apia", "(UTC+13:00) Samoa"),
    ("Line Islands Standard Time", "Pacific/Kiritimati", "(UTC+14:00) Kiritimati Island"),
];

/// Display names that older Windows versions used and that still appear in
/// exported calendars, mapped to the Windows ID they became. Collected from
/// real exports (the display names changed between Windows XP and 10).
#[rustfmt::skip]
const LEGACY_DISPLAY_NAMES: &[(&str, &str)] = &[
    ("Moscow, St. Petersburg, Volgograd", "Russian Standard Time"),
    ("Moscow, St. Petersburg, Volgograd (RTZ 2)", "Russian Standard Time"),
    ("Amsterdam, Berlin, Bern, Rom, Stockholm, Wien", "W. Europe Standard Time"),
    ("Greenwich Mean Time : Dublin, Edinburgh, Lisbon, London", "GMT Standard Time"),
    ("Greenwich Mean Time: Dublin, Edinburgh, Lisbon, London", "GMT Standard Time"),
    ("Helsinki, Kyiv, Riga, Sofia, Tallinn, Vilnius", "FLE Standard Time"),
    ("Helsinki, Kiev, Riga, Sofia, Tallinn, Vilnius", "FLE Standard Time"),
    ("Ekaterinburg (RTZ 4)", "Ekaterinburg Standard Time"),
    ("Kaliningrad (RTZ 1)", "Kaliningrad Standard Time"),
    ("Minsk", "Belarus Standard Time"),
    ("Brasilia", "E. South America Standard Time"),
    ("Coordinated Universal Time", "UTC"),
    ("Dublin, Edinburgh, Lisbon, London", "GMT Standard Time"),
];

/// The IANA zone for a Windows zone ID ("Russian Standard Time"), compared
/// case-insensitively.
pub fn iana_for_windows_id(id: &str) -> Option<&'static str> {
    let id = id.trim();
    WINDOWS_ZONES
        .iter()
        .find(|(win, _, _)| win.eq_ignore_ascii_case(id))
        .map(|(_, iana, _)| *iana)
}

/// The IANA zone for an Outlook display name such as
/// "(UTC+03:00) Moscow, St. Petersburg" or the older
/// "(GMT+10:00) Canberra, Melbourne, Sydney". The offset prefix is ignored
/// for matching (it changed between Windows versions) and the city list is
/// compared loosely: case, punctuation, "&"/"and" and accents do not matter.
pub fn iana_for_display_name(name: &str) -> Option<&'static str> {
    let (_, cities) = split_display_name(name)?;
    let wanted = loose(cities);
    if wanted.is_empty() {
        return None;
    }
    for (_, iana, display) in WINDOWS_ZONES {
        if let Some((_, c)) = split_display_name(display) {
            if loose(c) == wanted {
                return Some(iana);
            }
        }
    }
    for (legacy, win) in LEGACY_DISPLAY_NAMES {
        if loose(legacy) == wanted {
            return iana_for_windows_id(win);
        }
    }
    None
}

/// The IANA zone for an Outlook city list written without its "(UTC+hh:mm)"
/// prefix, as Outlook and Exchange connectors put in TZID ("Amsterdam,
/// Berlin, Bern, Rome, Stockholm, Vienna", "Moscow, St. Petersburg,
/// Volgograd"). The whole list compared loosely with the display names
/// (current and older ones) first; else the zone that most of the listed
/// cities belong to (writers mixed the lists of zones with the same rules:
/// "Amsterdam, Belgrade, Berlin, Rome, Stockholm, Vienna"), ties going to
/// the zone of the first city named. A single unknown word maps to nothing.
pub fn iana_for_city_list(name: &str) -> Option<&'static str> {
    let wanted = loose(name);
    if wanted.is_empty() {
        return None;
    }
    for (_, iana, display) in WINDOWS_ZONES {
        if split_display_name(display).is_some_and(|(_, cities)| loose(cities) == wanted) {
            return Some(iana);
        }
    }
    for (legacy, win) in LEGACY_DISPLAY_NAMES {
        if loose(legacy) == wanted {
            return iana_for_windows_id(win);
        }
    }
    let listed: Vec<String> = name
        .split(',')
        .map(loose)
        .filter(|c| !c.is_empty())
        .collect();
    if listed.len() < 2 {
        return None;
    }
    // (zone, cities of the list in it, position of the first one)
    let mut votes: Vec<(&'static str, usize, usize)> = Vec::new();
    for (_, iana, display) in WINDOWS_ZONES {
        let Some((_, cities)) = split_display_name(display) else {
            continue;
        };
        let own: Vec<String> = cities.split(',').map(loose).collect();
        let hits: Vec<usize> = listed
            .iter()
            .enumerate()
            .filter(|(_, city)| own.contains(city))
            .map(|(i, _)| i)
            .collect();
        if let Some(first) = hits.first() {
            votes.push((iana, hits.len(), *first));
        }
    }
    votes
        .into_iter()
        .filter(|(_, hits, _)| *hits >= 2)
        .min_by_key(|(_, hits, first)| (std::cmp::Reverse(*hits), *first))
        .map(|(iana, _, _)| iana)
}

/// Splits "(UTC+03:00) Moscow" into (offset in seconds, "Moscow"). Accepts
/// "UTC" or "GMT", with or without an offset. `None` when the text does not
/// start with such a prefix.
pub fn split_display_name(name: &str) -> Option<(i32, &str)> {
    let name = name.trim();
    let rest = name.strip_prefix('(')?;
    let close = rest.find(')')?;
    let inside = &rest[..close];
    let after = rest[close + 1..].trim();
    let upper = inside.to_ascii_uppercase();
    let offset_text = upper
        .strip_prefix("UTC")
        .or_else(|| upper.strip_prefix("GMT"))?;
    let offset = if offset_text.trim().is_empty() {
        0
    } else {
        parse_hh_mm(offset_text.trim())?
    };
    Some((offset, after))
}

/// "+03:00" / "-05:00" / "+0530" → seconds east of UTC.
fn parse_hh_mm(text: &str) -> Option<i32> {
    let (sign, digits) = match text.as_bytes().first()? {
        b'+' => (1, &text[1..]),
        b'-' => (-1, &text[1..]),
        _ => return None,
    };
    let digits: String = digits.chars().filter(|c| c.is_ascii_digit()).collect();
    if digits.len() != 4 {
        return None;
    }
    let hours: i32 = digits[..2].parse().ok()?;
    let minutes: i32 = digits[2..].parse().ok()?;
    if hours > 14 || minutes > 59 {
        return None;
    }
    Some(sign * (hours * 3600 + minutes * 60))
}

/// Lower-case ASCII letters and digits only, "&" read as "and", accents
/// dropped (so "Brasília" matches "Brasilia").
fn loose(text: &str) -> String {
    let mut out = String::new();
    for ch in text.replace('&', " and ").chars() {
        let ch = fold_accent(ch);
        if ch.is_ascii_alphanumeric() {
            out.push(ch.to_ascii_lowercase());
        }
    }
    out
}

fn fold_accent(ch: char) -> char {
    match ch {
        'á' | 'à' | 'â' | 'ä' | 'ã' | 'å' => 'a',
        'é' | 'è' | 'ê' | 'ë' => 'e',
        'í' | 'ì' | 'î' | 'ï' => 'i',
        'ó' | 'ò' | 'ô' | 'ö' | 'õ' => 'o',
        'ú' | 'ù' | 'û' | 'ü' => 'u',
        'ç' => 'c',
        'ñ' => 'n',
        other => other,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono_tz::Tz;

    #[test]
    fn every_iana_name_in_the_table_is_known_to_chrono_tz() {
        for (win, iana, _) in WINDOWS_ZONES {
            assert!(
                iana.parse::<Tz>().is_ok(),
                "{win} → {iana} is not a chrono-tz zone"
            );
        }
        for (_, win) in LEGACY_DISPLAY_NAMES {
            assert!(iana_for_windows_id(win).is_some(), "{win}");
        }
    }

    #[test]
    fn windows_ids_map_case_insensitively() {
        assert_eq!(
            iana_for_windows_id("Russian Standard Time"),
            Some("Europe/Moscow")
        );
        assert_eq!(
            iana_for_windows_id("w. europe standard time"),
            Some("Europe/Berlin")
        );
        assert_eq!(iana_for_windows_id("Nowhere Standard Time"), None);
    }

    #[test]
    fn display_names_map_across_windows_versions() {
        assert_eq!(
            iana_for_display_name("(UTC+03:00) Moscow, St. Petersburg, Volgograd"),
            Some("Europe/Moscow")
        );
        assert_eq!(
            iana_for_display_name("(GMT+10:00) Canberra, Melbourne, Sydney"),
            Some("Australia/Sydney")
        );
        assert_eq!(
            iana_for_display_name("(UTC-05:00) Eastern Time (US and Canada)"),
            Some("America/New_York")
        );
        assert_eq!(
            iana_for_display_name("(UTC-03:00) Brasília"),
            Some("America/Sao_Paulo")
        );
        assert_eq!(iana_for_display_name("Customized Time Zone"), None);
    }

    #[test]
    fn display_name_prefix_gives_the_offset() {
        assert_eq!(
            split_display_name("(UTC+07:00) Bangkok"),
            Some((7 * 3600, "Bangkok"))
        );
        assert_eq!(
            split_display_name("(GMT-03:30) X"),
            Some((-(3 * 3600 + 1800), "X"))
        );
        assert_eq!(
            split_display_name("(UTC) Coordinated Universal Time"),
            Some((0, "Coordinated Universal Time"))
        );
    }
}
