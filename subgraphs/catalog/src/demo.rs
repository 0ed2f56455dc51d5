//! Demo data for dev mode: GST slabs, eleven categories, 78 real medicines
//! (real salts, manufacturers and HSN codes) and listings with batches at
//! both demo vendors. Fixed IDs, so other subgraphs' demo data and tests can
//! refer to them. Seeded once (it checks for the paracetamol medicine
//! first); production never calls it.
//!
//! Notable rows: "Paracetamol 500 mg tablet" (OTC) at both vendors with 200
//! and 150 packs; "Amoxicillin 500 mg capsule" (schedule H) at both;
//! "Cefixime 200 mg tablet" (schedule H1) at the KA vendor only; the MH
//! listing of Allegra 120 mg has exactly one pack; the KA listing of
//! Benadryl cough syrup has only an expired batch (stock 0). Both demo
//! vendors are recorded as verified, so their listings sell.

use crate::domain::{DosageForm, MedicineFields, Prices, Schedule};
use crate::store::{self, stock, ReadClock};
use janta_platform::demo::{VENDOR_KA_ID, VENDOR_MH_ID};
use janta_platform::store::Store;

/// "Paracetamol 500 mg tablet" (OTC).
pub const PARACETAMOL_500_ID: &str = "019a0000-0000-7000-8001-000000000001";
/// "Amoxicillin 500 mg capsule" (schedule H).
pub const AMOXICILLIN_500_ID: &str = "019a0000-0000-7000-8001-000000000002";
/// "Cefixime 200 mg tablet" (schedule H1).
pub const CEFIXIME_200_ID: &str = "019a0000-0000-7000-8001-000000000003";
/// "Allegra 120 mg tablet" (schedule H).
pub const ALLEGRA_120_ID: &str = "019a0000-0000-7000-8001-000000000004";
/// "Benadryl cough syrup" (OTC).
pub const BENADRYL_ID: &str = "019a0000-0000-7000-8001-000000000005";
/// "Addwize 10 tablet" (methylphenidate, schedule X).
pub const ADDWIZE_10_ID: &str = "019a0000-0000-7000-8001-00000000004e";

/// Paracetamol 500 mg at the KA vendor: 200 packs in two batches.
pub const PARACETAMOL_500_KA_LISTING_ID: &str = "019a0000-0000-7000-8002-100000000001";
/// Paracetamol 500 mg at the MH vendor: 150 packs.
pub const PARACETAMOL_500_MH_LISTING_ID: &str = "019a0000-0000-7000-8002-200000000001";
/// Amoxicillin 500 mg at the KA vendor: 100 packs in two batches.
pub const AMOXICILLIN_500_KA_LISTING_ID: &str = "019a0000-0000-7000-8002-100000000002";
/// Amoxicillin 500 mg at the MH vendor: 50 packs.
pub const AMOXICILLIN_500_MH_LISTING_ID: &str = "019a0000-0000-7000-8002-200000000002";
/// Cefixime 200 mg at the KA vendor (the only one): 60 packs.
pub const CEFIXIME_200_KA_LISTING_ID: &str = "019a0000-0000-7000-8002-100000000003";
/// Allegra 120 mg at the MH vendor: exactly one pack in stock.
pub const SINGLE_UNIT_LISTING_ID: &str = "019a0000-0000-7000-8002-200000000004";
/// Benadryl cough syrup at the KA vendor: only an expired batch (stock 0).
pub const EXPIRED_ONLY_LISTING_ID: &str = "019a0000-0000-7000-8002-100000000005";

/// "Pain & Fever".
pub const CATEGORY_PAIN_FEVER_ID: &str = "019a0000-0000-7000-8003-000000000001";
/// "Antibiotics & Anti-infectives".
pub const CATEGORY_ANTIBIOTICS_ID: &str = "019a0000-0000-7000-8003-000000000002";

/// The ID of demo medicine number `n` (1-based, as in the table below).
pub fn medicine_id(n: u32) -> String {
    format!("019a0000-0000-7000-8001-{n:012x}")
}

/// The ID of the listing of demo medicine `n` at the KA (`ka = true`) or MH vendor.
pub fn listing_id(n: u32, ka: bool) -> String {
    format!("019a0000-0000-7000-8002-{}{n:011x}", if ka { 1 } else { 2 })
}

fn batch_id(n: u32, ka: bool, k: u32) -> String {
    format!(
        "019a0000-0000-7000-8004-{}{k}{n:010x}",
        if ka { 1 } else { 2 }
    )
}

fn category_id(n: u32) -> String {
    format!("019a0000-0000-7000-8003-{n:012x}")
}

const CATEGORIES: [(&str, &str); 11] = [
    (
        "Pain & Fever",
        "Analgesics and antipyretics for pain, fever and inflammation",
    ),
    (
        "Antibiotics & Anti-infectives",
        "Antibacterial and antifungal medicines (prescription only)",
    ),
    ("Diabetes Care", "Oral anti-diabetics and insulin"),
    (
        "Heart & Blood Pressure",
        "Antihypertensives, statins and antiplatelets",
    ),
    (
        "Digestive Health",
        "Antacids, proton-pump inhibitors, laxatives, antiemetics and ORS",
    ),
    (
        "Cough, Cold & Allergy",
        "Antihistamines, inhalers, cough syrups and decongestants",
    ),
    (
        "Vitamins & Supplements",
        "Vitamins, minerals and iron supplements",
    ),
    (
        "Skin Care",
        "Antiseptic, antifungal, antibiotic and steroid skin preparations",
    ),
    (
        "First Aid & Devices",
        "Dressings, antiseptics, syringes and monitors",
    ),
    ("Sexual Wellness", "Contraceptives"),
    (
        "Mental Health & Sleep",
        "Anxiolytics, hypnotics, antidepressants and ADHD medicines",
    ),
];

/// GST slabs: chapter 30 medicines moved from 12 % to 5 % on 22 Sep 2025;
/// insulin was already 5 %; condoms are nil-rated; disinfectants stay 18 %.
const TAX_SLABS: [(&str, &str, &str, &str); 13] = [
    (
        "3003",
        "12",
        "2017-07-01",
        "Medicaments not in measured doses",
    ),
    (
        "3003",
        "5",
        "2025-09-22",
        "Medicaments not in measured doses (GST rate cut)",
    ),
    (
        "3004",
        "12",
        "2017-07-01",
        "Medicaments in measured doses or retail packs",
    ),
    (
        "3004",
        "5",
        "2025-09-22",
        "Medicaments in measured doses or retail packs (GST rate cut)",
    ),
    ("300431", "5", "2017-07-01", "Insulin"),
    (
        "3005",
        "12",
        "2017-07-01",
        "Wadding, gauze, bandages and dressings",
    ),
    (
        "3005",
        "5",
        "2025-09-22",
        "Wadding, gauze, bandages and dressings (GST rate cut)",
    ),
    (
        "3006",
        "12",
        "2017-07-01",
        "Pharmaceutical goods (sutures, contraceptive preparations, kits)",
    ),
    (
        "3006",
        "5",
        "2025-09-22",
        "Pharmaceutical goods (GST rate cut)",
    ),
    ("3808", "18", "2017-07-01", "Disinfectants"),
    (
        "40141010",
        "0",
        "2017-07-01",
        "Rubber contraceptives, male (condoms): nil-rated",
    ),
    (
        "9018",
        "12",
        "2017-07-01",
        "Medical instruments and appliances",
    ),
    (
        "9018",
        "5",
        "2025-09-22",
        "Medical instruments and appliances (GST rate cut)",
    ),
];

/// Where a demo medicine is listed.
#[derive(Clone, Copy, PartialEq, Eq)]
enum At {
    Both,
    Ka,
    Mh,
}

type Row = (
    &'static str,
    &'static str,
    &'static str,
    &'static str,
    DosageForm,
    &'static str,
    Schedule,
    &'static str,
    u32,
    i64,
    At,
);

use DosageForm as F;
use Schedule as S;

/// (name, generic name, manufacturer, strength, form, pack, schedule, HSN,
/// category number, MRP in paise, where listed); medicine n = index + 1.
const MEDICINES: [Row; 78] = [
    (
        "Paracetamol 500 mg tablet",
        "Paracetamol",
        "Cipla Ltd",
        "500 mg",
        F::Tablet,
        "strip of 10 tablets",
        S::Otc,
        "30049099",
        1,
        2000,
        At::Both,
    ),
    (
        "Amoxicillin 500 mg capsule",
        "Amoxicillin",
        "Alkem Laboratories Ltd",
        "500 mg",
        F::Capsule,
        "strip of 10 capsules",
        S::H,
        "300410",
        2,
        9850,
        At::Both,
    ),
    (
        "Cefixime 200 mg tablet",
        "Cefixime",
        "Lupin Ltd",
        "200 mg",
        F::Tablet,
        "strip of 10 tablets",
        S::H1,
        "300420",
        2,
        10900,
        At::Ka,
    ),
    (
        "Allegra 120 mg tablet",
        "Fexofenadine hydrochloride",
        "Sanofi India Ltd",
        "120 mg",
        F::Tablet,
        "strip of 10 tablets",
        S::H,
        "30049099",
        6,
        22300,
        At::Both,
    ),
    (
        "Benadryl cough syrup",
        "Diphenhydramine + Ammonium chloride + Sodium citrate + Menthol",
        "Johnson & Johnson Pvt Ltd",
        "14.08 mg/138 mg/57.03 mg/1.14 mg per 5 ml",
        F::Syrup,
        "bottle of 150 ml",
        S::Otc,
        "30049099",
        6,
        14500,
        At::Both,
    ),
    (
        "Dolo 650 tablet",
        "Paracetamol",
        "Micro Labs Ltd",
        "650 mg",
        F::Tablet,
        "strip of 15 tablets",
        S::Otc,
        "30049099",
        1,
        3360,
        At::Both,
    ),
    (
        "Crocin Advance 500 mg tablet",
        "Paracetamol",
        "Haleon India Pvt Ltd",
        "500 mg",
        F::Tablet,
        "strip of 15 tablets",
        S::Otc,
        "30049099",
        1,
        2000,
        At::Both,
    ),
    (
        "Calpol 250 mg/5 ml suspension",
        "Paracetamol",
        "GlaxoSmithKline Pharmaceuticals Ltd",
        "250 mg/5 ml",
        F::Suspension,
        "bottle of 60 ml",
        S::Otc,
        "30049099",
        1,
        6100,
        At::Both,
    ),
    (
        "Combiflam tablet",
        "Ibuprofen + Paracetamol",
        "Sanofi India Ltd",
        "400 mg/325 mg",
        F::Tablet,
        "strip of 20 tablets",
        S::Otc,
        "30049099",
        1,
        4800,
        At::Both,
    ),
    (
        "Brufen 400 mg tablet",
        "Ibuprofen",
        "Abbott India Ltd",
        "400 mg",
        F::Tablet,
        "strip of 15 tablets",
        S::H,
        "30049099",
        1,
        1900,
        At::Both,
    ),
    (
        "Voveran SR 100 tablet",
        "Diclofenac sodium",
        "Dr. Reddy's Laboratories Ltd",
        "100 mg",
        F::Tablet,
        "strip of 15 tablets",
        S::H,
        "30049099",
        1,
        14500,
        At::Both,
    ),
    (
        "Volini gel",
        "Diclofenac diethylamine + Linseed oil + Methyl salicylate + Menthol",
        "Sun Pharmaceutical Industries Ltd",
        "1.16% w/w",
        F::Gel,
        "tube of 30 g",
        S::Otc,
        "30049099",
        1,
        15000,
        At::Both,
    ),
    (
        "Ultracet tablet",
        "Tramadol hydrochloride + Paracetamol",
        "Johnson & Johnson Pvt Ltd",
        "37.5 mg/325 mg",
        F::Tablet,
        "strip of 15 tablets",
        S::H1,
        "30049099",
        1,
        27000,
        At::Ka,
    ),
    (
        "Zerodol-P tablet",
        "Aceclofenac + Paracetamol",
        "Ipca Laboratories Ltd",
        "100 mg/325 mg",
        F::Tablet,
        "strip of 10 tablets",
        S::H,
        "30049099",
        1,
        7000,
        At::Both,
    ),
    (
        "Mox 500 capsule",
        "Amoxicillin",
        "Sun Pharmaceutical Industries Ltd",
        "500 mg",
        F::Capsule,
        "strip of 10 capsules",
        S::H,
        "300410",
        2,
        11200,
        At::Both,
    ),
    (
        "Augmentin 625 Duo tablet",
        "Amoxicillin + Clavulanic acid",
        "GlaxoSmithKline Pharmaceuticals Ltd",
        "500 mg/125 mg",
        F::Tablet,
        "strip of 10 tablets",
        S::H,
        "300410",
        2,
        22300,
        At::Both,
    ),
    (
        "Azithral 500 tablet",
        "Azithromycin",
        "Alembic Pharmaceuticals Ltd",
        "500 mg",
        F::Tablet,
        "strip of 5 tablets",
        S::H,
        "300420",
        2,
        11900,
        At::Both,
    ),
    (
        "Taxim-O 200 tablet",
        "Cefixime",
        "Alkem Laboratories Ltd",
        "200 mg",
        F::Tablet,
        "strip of 10 tablets",
        S::H1,
        "300420",
        2,
        13200,
        At::Both,
    ),
    (
        "Zifi 200 tablet",
        "Cefixime",
        "FDC Ltd",
        "200 mg",
        F::Tablet,
        "strip of 10 tablets",
        S::H1,
        "300420",
        2,
        12000,
        At::Mh,
    ),
    (
        "Ciplox 500 tablet",
        "Ciprofloxacin",
        "Cipla Ltd",
        "500 mg",
        F::Tablet,
        "strip of 10 tablets",
        S::H,
        "30049099",
        2,
        6500,
        At::Both,
    ),
    (
        "Levoflox 500 tablet",
        "Levofloxacin",
        "Cipla Ltd",
        "500 mg",
        F::Tablet,
        "strip of 10 tablets",
        S::H1,
        "30049099",
        2,
        10500,
        At::Both,
    ),
    (
        "Metrogyl 400 tablet",
        "Metronidazole",
        "J B Chemicals & Pharmaceuticals Ltd",
        "400 mg",
        F::Tablet,
        "strip of 15 tablets",
        S::H,
        "30049099",
        2,
        2500,
        At::Both,
    ),
    (
        "Forcan 150 tablet",
        "Fluconazole",
        "Cipla Ltd",
        "150 mg",
        F::Tablet,
        "strip of 1 tablet",
        S::H,
        "30049099",
        2,
        2700,
        At::Both,
    ),
    (
        "Glycomet 500 tablet",
        "Metformin hydrochloride",
        "USV Pvt Ltd",
        "500 mg",
        F::Tablet,
        "strip of 20 tablets",
        S::H,
        "30049099",
        3,
        3700,
        At::Both,
    ),
    (
        "Glycomet-GP 1 tablet",
        "Glimepiride + Metformin hydrochloride",
        "USV Pvt Ltd",
        "1 mg/500 mg",
        F::Tablet,
        "strip of 15 tablets",
        S::H,
        "30049099",
        3,
        13100,
        At::Both,
    ),
    (
        "Janumet 50/500 tablet",
        "Sitagliptin + Metformin hydrochloride",
        "MSD Pharmaceuticals Pvt Ltd",
        "50 mg/500 mg",
        F::Tablet,
        "strip of 15 tablets",
        S::H,
        "30049099",
        3,
        25000,
        At::Mh,
    ),
    (
        "Amaryl 1 mg tablet",
        "Glimepiride",
        "Sanofi India Ltd",
        "1 mg",
        F::Tablet,
        "strip of 30 tablets",
        S::H,
        "30049099",
        3,
        21000,
        At::Both,
    ),
    (
        "Galvus Met 50/500 tablet",
        "Vildagliptin + Metformin hydrochloride",
        "Novartis India Ltd",
        "50 mg/500 mg",
        F::Tablet,
        "strip of 15 tablets",
        S::H,
        "30049099",
        3,
        31400,
        At::Both,
    ),
    (
        "Huminsulin R 40 IU/ml injection",
        "Human insulin (regular)",
        "Eli Lilly and Company (India) Pvt Ltd",
        "40 IU/ml",
        F::Injection,
        "vial of 10 ml",
        S::H,
        "30043110",
        3,
        17000,
        At::Mh,
    ),
    (
        "Amlokind 5 tablet",
        "Amlodipine",
        "Mankind Pharma Ltd",
        "5 mg",
        F::Tablet,
        "strip of 10 tablets",
        S::H,
        "30049099",
        4,
        2700,
        At::Both,
    ),
    (
        "Telma 40 tablet",
        "Telmisartan",
        "Glenmark Pharmaceuticals Ltd",
        "40 mg",
        F::Tablet,
        "strip of 15 tablets",
        S::H,
        "30049099",
        4,
        22800,
        At::Both,
    ),
    (
        "Atorva 10 tablet",
        "Atorvastatin",
        "Zydus Lifesciences Ltd",
        "10 mg",
        F::Tablet,
        "strip of 15 tablets",
        S::H,
        "30049099",
        4,
        11000,
        At::Both,
    ),
    (
        "Ecosprin 75 tablet",
        "Aspirin",
        "USV Pvt Ltd",
        "75 mg",
        F::Tablet,
        "strip of 14 tablets",
        S::Otc,
        "30049099",
        4,
        500,
        At::Both,
    ),
    (
        "Rosuvas 10 tablet",
        "Rosuvastatin",
        "Sun Pharmaceutical Industries Ltd",
        "10 mg",
        F::Tablet,
        "strip of 15 tablets",
        S::H,
        "30049099",
        4,
        28000,
        At::Both,
    ),
    (
        "Metolar XR 25 tablet",
        "Metoprolol succinate",
        "Cipla Ltd",
        "25 mg",
        F::Tablet,
        "strip of 15 tablets",
        S::H,
        "30049099",
        4,
        8000,
        At::Both,
    ),
    (
        "Clopilet 75 tablet",
        "Clopidogrel",
        "Sun Pharmaceutical Industries Ltd",
        "75 mg",
        F::Tablet,
        "strip of 15 tablets",
        S::H,
        "30049099",
        4,
        9800,
        At::Both,
    ),
    (
        "Losar 50 tablet",
        "Losartan potassium",
        "Unichem Laboratories Ltd",
        "50 mg",
        F::Tablet,
        "strip of 15 tablets",
        S::H,
        "30049099",
        4,
        8300,
        At::Both,
    ),
    (
        "Pan 40 tablet",
        "Pantoprazole",
        "Alkem Laboratories Ltd",
        "40 mg",
        F::Tablet,
        "strip of 15 tablets",
        S::H,
        "30049099",
        5,
        15500,
        At::Both,
    ),
    (
        "Pan-D capsule",
        "Pantoprazole + Domperidone",
        "Alkem Laboratories Ltd",
        "40 mg/30 mg",
        F::Capsule,
        "strip of 15 capsules",
        S::H,
        "30049099",
        5,
        19900,
        At::Both,
    ),
    (
        "Omez 20 capsule",
        "Omeprazole",
        "Dr. Reddy's Laboratories Ltd",
        "20 mg",
        F::Capsule,
        "strip of 20 capsules",
        S::H,
        "30049099",
        5,
        6300,
        At::Both,
    ),
    (
        "Famocid 40 tablet",
        "Famotidine",
        "Sun Pharmaceutical Industries Ltd",
        "40 mg",
        F::Tablet,
        "strip of 14 tablets",
        S::H,
        "30049099",
        5,
        3200,
        At::Both,
    ),
    (
        "Digene Acidity & Gas Relief gel (mint)",
        "Magnesium hydroxide + Aluminium hydroxide + Simethicone",
        "Abbott India Ltd",
        "185 mg/830 mg/50 mg per 10 ml",
        F::Suspension,
        "bottle of 200 ml",
        S::Otc,
        "30049099",
        5,
        17500,
        At::Both,
    ),
    (
        "Eno fruit salt (regular)",
        "Sodium bicarbonate + Citric acid + Sodium carbonate",
        "Haleon India Pvt Ltd",
        "2.32 g/2.18 g/0.5 g per 5 g",
        F::Powder,
        "bottle of 100 g",
        S::Otc,
        "30049099",
        5,
        16000,
        At::Both,
    ),
    (
        "Electral ORS powder",
        "Oral rehydration salts (WHO formula)",
        "FDC Ltd",
        "21.8 g",
        F::Powder,
        "sachet of 21.8 g",
        S::Otc,
        "30049099",
        5,
        2300,
        At::Both,
    ),
    (
        "Cremaffin Plus syrup",
        "Liquid paraffin + Milk of magnesia + Sodium picosulfate",
        "Abbott India Ltd",
        "3.75 ml/11.25 ml/3.33 mg per 15 ml",
        F::Syrup,
        "bottle of 225 ml",
        S::Otc,
        "30049099",
        5,
        26800,
        At::Both,
    ),
    (
        "Eldoper 2 mg capsule",
        "Loperamide hydrochloride",
        "Micro Labs Ltd",
        "2 mg",
        F::Capsule,
        "strip of 10 capsules",
        S::H,
        "30049099",
        5,
        2700,
        At::Both,
    ),
    (
        "Ondem 4 tablet",
        "Ondansetron",
        "Alkem Laboratories Ltd",
        "4 mg",
        F::Tablet,
        "strip of 10 tablets",
        S::H,
        "30049099",
        5,
        6000,
        At::Both,
    ),
    (
        "Okacet 10 mg tablet",
        "Cetirizine hydrochloride",
        "Cipla Ltd",
        "10 mg",
        F::Tablet,
        "strip of 10 tablets",
        S::Otc,
        "30049099",
        6,
        2000,
        At::Both,
    ),
    (
        "Montair LC tablet",
        "Montelukast + Levocetirizine",
        "Cipla Ltd",
        "10 mg/5 mg",
        F::Tablet,
        "strip of 15 tablets",
        S::H,
        "30049099",
        6,
        29200,
        At::Both,
    ),
    (
        "Asthalin 100 mcg inhaler",
        "Salbutamol",
        "Cipla Ltd",
        "100 mcg per dose",
        F::Inhaler,
        "200 metered doses",
        S::H,
        "30049099",
        6,
        15800,
        At::Both,
    ),
    (
        "Budecort 0.5 mg respules",
        "Budesonide",
        "Cipla Ltd",
        "0.5 mg/2 ml",
        F::Respules,
        "pack of 5 respules of 2 ml",
        S::H,
        "30049099",
        6,
        12600,
        At::Both,
    ),
    (
        "Vicks VapoRub",
        "Menthol + Camphor + Eucalyptus oil",
        "Procter & Gamble Health Ltd",
        "2.82%/5.26%/1.33% w/w",
        F::Ointment,
        "jar of 50 ml",
        S::Otc,
        "30049099",
        6,
        16500,
        At::Both,
    ),
    (
        "Strepsils Honey & Lemon lozenges",
        "Amylmetacresol + 2,4-Dichlorobenzyl alcohol",
        "Reckitt Benckiser Healthcare India Pvt Ltd",
        "0.6 mg/1.2 mg",
        F::Lozenge,
        "strip of 8 lozenges",
        S::Otc,
        "30049099",
        6,
        4500,
        At::Both,
    ),
    (
        "Otrivin Oxy 0.1% nasal spray",
        "Xylometazoline hydrochloride",
        "Haleon India Pvt Ltd",
        "0.1% w/v",
        F::Spray,
        "bottle of 10 ml",
        S::Otc,
        "30049099",
        6,
        11400,
        At::Both,
    ),
    (
        "Becosules capsule",
        "Vitamin B-complex + Vitamin C",
        "Pfizer Ltd",
        "B-complex with 150 mg vitamin C",
        F::Capsule,
        "strip of 20 capsules",
        S::Otc,
        "30045090",
        7,
        5200,
        At::Both,
    ),
    (
        "Shelcal 500 tablet",
        "Calcium carbonate + Vitamin D3",
        "Torrent Pharmaceuticals Ltd",
        "1250 mg/250 IU",
        F::Tablet,
        "strip of 15 tablets",
        S::Otc,
        "30045090",
        7,
        12400,
        At::Both,
    ),
    (
        "Limcee 500 mg chewable tablet",
        "Ascorbic acid (Vitamin C)",
        "Abbott India Ltd",
        "500 mg",
        F::Tablet,
        "strip of 15 tablets",
        S::Otc,
        "30045090",
        7,
        2500,
        At::Both,
    ),
    (
        "Zincovit tablet",
        "Multivitamin + Multimineral + Zinc",
        "Apex Laboratories Pvt Ltd",
        "multivitamin with 22 mg zinc",
        F::Tablet,
        "strip of 15 tablets",
        S::Otc,
        "30045090",
        7,
        11000,
        At::Both,
    ),
    (
        "Neurobion Forte tablet",
        "Vitamin B1 + Vitamin B6 + Vitamin B12",
        "Procter & Gamble Health Ltd",
        "10 mg/3 mg/15 mcg",
        F::Tablet,
        "strip of 30 tablets",
        S::Otc,
        "30045090",
        7,
        4300,
        At::Both,
    ),
    (
        "Uprise-D3 60K capsule",
        "Cholecalciferol (Vitamin D3)",
        "Alkem Laboratories Ltd",
        "60000 IU",
        F::Capsule,
        "strip of 4 capsules",
        S::Otc,
        "30045090",
        7,
        13000,
        At::Both,
    ),
    (
        "Dexorange syrup",
        "Ferric ammonium citrate + Folic acid + Cyanocobalamin",
        "Franco-Indian Pharmaceuticals Pvt Ltd",
        "160 mg/0.5 mg/7.5 mcg per 15 ml",
        F::Syrup,
        "bottle of 200 ml",
        S::Otc,
        "30045090",
        7,
        19500,
        At::Both,
    ),
    (
        "Betadine 5% ointment",
        "Povidone-iodine",
        "Win-Medicare Pvt Ltd",
        "5% w/w",
        F::Ointment,
        "tube of 20 g",
        S::Otc,
        "30049099",
        8,
        13000,
        At::Both,
    ),
    (
        "Soframycin skin cream",
        "Framycetin sulphate",
        "Sanofi India Ltd",
        "1% w/w",
        F::Cream,
        "tube of 30 g",
        S::Otc,
        "30049099",
        8,
        9100,
        At::Both,
    ),
    (
        "Candid cream",
        "Clotrimazole",
        "Glenmark Pharmaceuticals Ltd",
        "1% w/w",
        F::Cream,
        "tube of 20 g",
        S::Otc,
        "30049099",
        8,
        11500,
        At::Both,
    ),
    (
        "Tenovate cream",
        "Clobetasol propionate",
        "GlaxoSmithKline Pharmaceuticals Ltd",
        "0.05% w/w",
        F::Cream,
        "tube of 30 g",
        S::H,
        "30049099",
        8,
        10300,
        At::Both,
    ),
    (
        "Lacto Calamine lotion",
        "Calamine + Zinc oxide + Kaolin",
        "Piramal Pharma Ltd",
        "8%/4%/2% w/v",
        F::Lotion,
        "bottle of 120 ml",
        S::Otc,
        "30049099",
        8,
        15000,
        At::Both,
    ),
    (
        "Band-Aid washproof strips",
        "Adhesive bandage",
        "Johnson & Johnson Pvt Ltd",
        "72 mm x 19 mm",
        F::Dressing,
        "pack of 10 strips",
        S::Otc,
        "30051090",
        9,
        3000,
        At::Both,
    ),
    (
        "Hansaplast crepe bandage 10 cm",
        "Cotton crepe bandage",
        "Beiersdorf India Pvt Ltd",
        "10 cm x 4 m",
        F::Dressing,
        "roll of 1 bandage",
        S::Otc,
        "30059020",
        9,
        15500,
        At::Both,
    ),
    (
        "Dettol antiseptic liquid",
        "Chloroxylenol",
        "Reckitt Benckiser Healthcare India Pvt Ltd",
        "4.8% w/v",
        F::Solution,
        "bottle of 125 ml",
        S::Otc,
        "38089400",
        9,
        8900,
        At::Both,
    ),
    (
        "Dispovan 2 ml syringe with needle",
        "Hypodermic syringe (single use)",
        "Hindustan Syringes & Medical Devices Ltd",
        "2 ml, 24G needle",
        F::Device,
        "pack of 10 syringes",
        S::Otc,
        "90183100",
        9,
        6000,
        At::Both,
    ),
    (
        "Omron HEM-7120 blood pressure monitor",
        "Automatic upper-arm blood pressure monitor",
        "Omron Healthcare India Pvt Ltd",
        "upper arm, 22-32 cm cuff",
        F::Device,
        "1 monitor",
        S::Otc,
        "90189099",
        9,
        299000,
        At::Ka,
    ),
    (
        "i-pill emergency contraceptive tablet",
        "Levonorgestrel",
        "Piramal Pharma Ltd",
        "1.5 mg",
        F::Tablet,
        "strip of 1 tablet",
        S::Otc,
        "30066010",
        10,
        11000,
        At::Both,
    ),
    (
        "Manforce condoms",
        "Natural rubber latex condoms",
        "Mankind Pharma Ltd",
        "standard",
        F::Device,
        "pack of 10 condoms",
        S::Otc,
        "40141010",
        10,
        12500,
        At::Both,
    ),
    (
        "Durex Extra Thin condoms",
        "Natural rubber latex condoms",
        "Reckitt Benckiser Healthcare India Pvt Ltd",
        "extra thin",
        F::Device,
        "pack of 10 condoms",
        S::Otc,
        "40141010",
        10,
        27500,
        At::Both,
    ),
    (
        "Alprax 0.25 tablet",
        "Alprazolam",
        "Torrent Pharmaceuticals Ltd",
        "0.25 mg",
        F::Tablet,
        "strip of 15 tablets",
        S::H1,
        "30049099",
        11,
        3300,
        At::Both,
    ),
    (
        "Zolfresh 10 tablet",
        "Zolpidem tartrate",
        "Abbott India Ltd",
        "10 mg",
        F::Tablet,
        "strip of 10 tablets",
        S::H1,
        "30049099",
        11,
        15500,
        At::Both,
    ),
    (
        "Nexito 10 tablet",
        "Escitalopram",
        "Sun Pharmaceutical Industries Ltd",
        "10 mg",
        F::Tablet,
        "strip of 10 tablets",
        S::H,
        "30049099",
        11,
        14500,
        At::Both,
    ),
    (
        "Addwize 10 tablet",
        "Methylphenidate hydrochloride",
        "Sun Pharmaceutical Industries Ltd",
        "10 mg",
        F::Tablet,
        "strip of 10 tablets",
        S::X,
        "30049099",
        11,
        6200,
        At::Ka,
    ),
];

/// Ranked generic alternatives: (medicine n, alternatives n, best first).
const ALTERNATIVES: [(u32, &[u32]); 6] = [
    (1, &[7, 6]),
    (7, &[1]),
    (2, &[15]),
    (15, &[2]),
    (3, &[18, 19]),
    (18, &[3, 19]),
];

/// Batches of a listing: (packs, days until expiry); negative days = expired.
fn batches_for(n: u32, ka: bool) -> Vec<(i64, i64)> {
    let n64 = i64::from(n);
    match (n, ka) {
        (1, true) => vec![(120, 200), (80, 600)],
        (1, false) => vec![(150, 420)],
        (2, true) => vec![(60, 150), (40, 480)],
        (2, false) => vec![(50, 300)],
        (3, true) => vec![(40, 120), (20, 400)],
        (4, false) => vec![(1, 260)],
        (5, true) => vec![(12, -1)],
        (_, true) => vec![
            (20 + (n64 * 7) % 60, 180 + (n64 * 13) % 300),
            (10 + (n64 * 3) % 25, 500),
        ],
        (_, false) => vec![(15 + (n64 * 11) % 70, 240 + (n64 * 17) % 400)],
    }
}

/// Records both demo vendors as verified, as users' demo data has them
/// (users seeds its rows directly, so no `VendorVerified` is published).
/// Idempotent, and run on every seed so that a demo database made before
/// catalog kept vendor status still shows its listings.
async fn seed_vendor_status(store: &Store) -> anyhow::Result<()> {
    let mut tx = store.begin().await?;
    let at = janta_platform::scalars::now_db();
    for vendor in [VENDOR_KA_ID, VENDOR_MH_ID] {
        store::vendors::record_verified(&mut tx, vendor, &at).await?;
    }
    tx.commit().await?;
    Ok(())
}

/// Seeds the demo data if it is not there yet. Returns whether it seeded.
pub async fn seed(store: &Store) -> anyhow::Result<bool> {
    seed_vendor_status(store).await?;
    let existing: Option<(String,)> = sqlx::query_as("SELECT id FROM medicines WHERE id = $1")
        .bind(PARACETAMOL_500_ID)
        .fetch_optional(store.pool())
        .await?;
    if existing.is_some() {
        return Ok(false);
    }
    let actor = "system";
    let clock = ReadClock::now();
    let today = crate::domain::today();
    let mut tx = store.begin().await?;
    for (i, (name, description)) in CATEGORIES.iter().enumerate() {
        store::insert_category(
            &mut tx,
            Some(&category_id(i as u32 + 1)),
            name,
            Some(description),
        )
        .await
        .map_err(|e| anyhow::anyhow!("{e}"))?;
    }
    for (hsn, rate, from, description) in TAX_SLABS {
        let rate = crate::domain::parse_gst_rate(rate).map_err(|e| anyhow::anyhow!("{e}"))?;
        store::upsert_tax_slab(&mut tx, hsn, rate, from, description).await?;
    }
    for (i, row) in MEDICINES.iter().enumerate() {
        let n = i as u32 + 1;
        let (name, generic, maker, strength, form, pack, schedule, hsn, category, mrp, at) = *row;
        let fields = MedicineFields {
            name: name.into(),
            generic_name: generic.into(),
            manufacturer: maker.into(),
            strength: strength.into(),
            form,
            pack_size: pack.into(),
            schedule,
            hsn_code: hsn.into(),
            category_id: category_id(category),
        };
        store::insert_medicine(
            &mut tx,
            store.backend(),
            Some(&medicine_id(n)),
            &fields,
            actor,
        )
        .await?;
        for (ka, listed, discount) in [(true, at != At::Mh, 10), (false, at != At::Ka, 5)] {
            if !listed {
                continue;
            }
            let vendor = if ka { VENDOR_KA_ID } else { VENDOR_MH_ID };
            let price = (mrp * (100 - discount) / 100).max(1);
            let prices = Prices { price, mrp };
            store::upsert_listing(
                &mut tx,
                Some(&listing_id(n, ka)),
                vendor,
                &medicine_id(n),
                prices,
                Some(true),
                &clock,
            )
            .await?;
            for (k, (quantity, days)) in batches_for(n, ka).into_iter().enumerate() {
                let expires = if days < 0 {
                    "2025-06-30".to_string()
                } else {
                    (today + chrono::Days::new(days as u64))
                        .format("%Y-%m-%d")
                        .to_string()
                };
                let number = format!(
                    "{}{:03}{}",
                    if ka { "KA" } else { "MH" },
                    n,
                    (b'A' + k as u8) as char
                );
                stock::receive_batch(
                    &mut tx,
                    Some(&batch_id(n, ka, k as u32)),
                    &listing_id(n, ka),
                    &number,
                    &expires,
                    quantity,
                    actor,
                )
                .await
                .map_err(|e| anyhow::anyhow!("{e}"))?;
            }
        }
    }
    for (n, alternatives) in ALTERNATIVES {
        let ids: Vec<String> = alternatives.iter().map(|a| medicine_id(*a)).collect();
        store::set_alternatives(&mut tx, &medicine_id(n), &ids, actor).await?;
    }
    tx.commit().await?;
    Ok(true)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn fixed_ids_match_the_table() {
        assert_eq!(medicine_id(1), PARACETAMOL_500_ID);
        assert_eq!(medicine_id(2), AMOXICILLIN_500_ID);
        assert_eq!(medicine_id(3), CEFIXIME_200_ID);
        assert_eq!(medicine_id(4), ALLEGRA_120_ID);
        assert_eq!(medicine_id(5), BENADRYL_ID);
        assert_eq!(medicine_id(78), ADDWIZE_10_ID);
        assert_eq!(MEDICINES[77].0, "Addwize 10 tablet");
        assert_eq!(listing_id(1, true), PARACETAMOL_500_KA_LISTING_ID);
        assert_eq!(listing_id(1, false), PARACETAMOL_500_MH_LISTING_ID);
        assert_eq!(listing_id(2, true), AMOXICILLIN_500_KA_LISTING_ID);
        assert_eq!(listing_id(2, false), AMOXICILLIN_500_MH_LISTING_ID);
        assert_eq!(listing_id(3, true), CEFIXIME_200_KA_LISTING_ID);
        assert_eq!(listing_id(4, false), SINGLE_UNIT_LISTING_ID);
        assert_eq!(listing_id(5, true), EXPIRED_ONLY_LISTING_ID);
        assert_eq!(category_id(1), CATEGORY_PAIN_FEVER_ID);
        assert_eq!(category_id(2), CATEGORY_ANTIBIOTICS_ID);
        for id in [
            medicine_id(78),
            listing_id(78, false),
            batch_id(78, true, 1),
        ] {
            assert!(janta_platform::ids::parse_id(&id, "id").is_ok(), "{id}");
            assert_eq!(janta_platform::ids::parse_id(&id, "id").unwrap(), id);
        }
    }

    #[test]
    fn demo_rows_are_valid() {
        for (name, generic, maker, strength, form, pack, schedule, hsn, category, mrp, _) in
            MEDICINES
        {
            let fields = MedicineFields::parse(crate::domain::RawMedicine {
                name,
                generic_name: generic,
                manufacturer: maker,
                strength,
                form,
                pack_size: pack,
                schedule,
                hsn_code: hsn,
                category_id: &category_id(category),
            })
            .unwrap_or_else(|e| panic!("{name}: {e}"));
            assert_eq!(fields.name, name);
            assert!((1..=CATEGORIES.len() as u32).contains(&category));
            assert!(mrp > 0);
        }
        let categories: std::collections::HashSet<u32> = MEDICINES.iter().map(|m| m.8).collect();
        assert!(categories.len() >= 8);
    }
}
